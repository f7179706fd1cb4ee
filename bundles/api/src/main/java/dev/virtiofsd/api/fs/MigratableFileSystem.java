package dev.virtiofsd.api.fs;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A {@link FileSystem} whose per-session state (inodes with their lookup counts, open files) can
 * move to another daemon in a live migration. The FUSE dispatcher calls it from {@code
 * FuseStateTransfer}; the filesystem owns the layout of its part of the stream and versions it.
 *
 * @since 1.1
 */
@ProviderType
public interface MigratableFileSystem {
    /**
     * Writes every inode the client holds (node id, lookup count, how to find it again) and every
     * open file (fh, open flags). Called while no request runs; changes nothing.
     */
    void saveState(DataOutputStream out) throws IOException;

    /**
     * Drops every inode but the root and every open file, then installs those of the stream under the
     * same node ids and fhs. An inode that cannot be found again, or is found but is not the same file,
     * is handled as the daemon's migration error policy says: the load fails with a one-line reason,
     * or the inode is kept as one whose every operation fails with EIO. Never a different file.
     */
    void loadState(DataInputStream in) throws IOException;
}
