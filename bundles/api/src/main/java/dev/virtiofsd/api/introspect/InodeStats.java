package dev.virtiofsd.api.introspect;

import java.util.Map;
import org.osgi.annotation.versioning.ProviderType;

/** Counts of the passthrough filesystem's inode store, cheap to read at any time. */
@ProviderType
public interface InodeStats {
    /** Inodes the client holds lookups on, the root included. */
    long inodes();

    /** Fds held for inodes (O_PATH fds and mount fds), the root's included. */
    long inodeFds();

    /** Inodes by identity kind ("fd", "handle", ...). */
    Map<String, Long> inodesByKind();

    /** Name of the strategy new inodes get. */
    String strategy();

    /**
     * Files and directories the client has open.
     *
     * @since 1.1
     */
    long openFiles();

    /**
     * Inodes by the strategy that made their identity: after a switch, the inodes of the previous
     * strategy stay with it (and it stays open) until they are forgotten or converted.
     *
     * @since 1.1
     */
    Map<String, Long> inodesByStrategy();
}
