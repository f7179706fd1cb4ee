package dev.virtiofsd.api.transport;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Live migration of a FUSE session: a {@link FuseServer} that can hand a session's state to another
 * daemon also implements this interface (transports test for it with {@code instanceof}). The
 * transport only moves the bytes (vhost-user {@code SET_DEVICE_STATE_FD}); what they hold, the INIT
 * result plus the filesystem's inodes and open files, and their versioned format are the server's
 * and the filesystem's business (see {@code docs/migration.md}).
 *
 * @since 1.1
 */
@ProviderType
public interface FuseStateTransfer {
    /**
     * Writes the state of {@code session} (null: no session yet, the guest never mounted) to
     * {@code out}. The transport calls it with every queue stopped, so no request runs; the session
     * and the filesystem are left unchanged (a failed migration resumes on this daemon).
     */
    void save(FuseSession session, OutputStream out) throws IOException;

    /**
     * Reads a state written by {@link #save} and returns the session it describes, already past INIT,
     * or null when the source had no session. The filesystem's inodes and open files are replaced by
     * those of the stream. Throws when the stream is malformed, of an unknown version, or names a file
     * that cannot be found again and the daemon's policy is to abort the migration; the message says
     * which and why, in one line.
     *
     * @param maxWrite as {@link FuseServer#openSession(int)}
     */
    FuseSession load(int maxWrite, InputStream in) throws IOException;
}
