package dev.virtiofsd.api.introspect;

import java.util.Map;

/** Counts of the passthrough filesystem's inode store, cheap to read at any time. */
public interface InodeStats {
    /** Inodes the client holds lookups on, the root included. */
    long inodes();

    /** Fds held for inodes (O_PATH fds and mount fds), the root's included. */
    long inodeFds();

    /** Inodes by identity kind ("fd", "handle", ...). */
    Map<String, Long> inodesByKind();

    /** Name of the strategy new inodes get. */
    String strategy();
}
