package dev.virtiofsd.api.identity;

import dev.virtiofsd.api.ErrnoException;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * How the daemon holds on to one host inode between requests. Each inode records its own
 * identity, so inodes made under different strategies can live side by side.
 */
@ConsumerType
public interface InodeIdentity {
    /** Short name of the kind of identity, for statistics: "fd", "handle", ... */
    String kind();

    /** The file handle, or null when this identity has none (then the inode is keyed by ids only). */
    FileHandle handle();

    /**
     * Whether this identity keeps the inode alive on the host (an open fd does; a handle does not).
     * Only a pinning identity makes an inode-number match safe without a handle.
     */
    boolean pinsInode();

    /** Number of fds this identity holds open. */
    int heldFds();

    /**
     * An O_PATH fd on the inode for {@code *at} calls. Give it back with {@link #releasePath(int)},
     * which closes it if it was opened just for the caller.
     */
    int acquirePath() throws ErrnoException;

    void releasePath(int fd);

    /** A new fd opened with {@code flags} (never O_PATH; O_CREAT is not allowed); the caller closes it. */
    int open(int flags) throws ErrnoException;

    /** Frees whatever this identity holds. Called once, when the inode leaves the store. */
    void close();
}
