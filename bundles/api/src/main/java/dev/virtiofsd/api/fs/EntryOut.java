package dev.virtiofsd.api.fs;

/**
 * Reply of every operation that creates a dentry on the client (LOOKUP, MKDIR, CREATE, ...).
 * Filling it with a non-zero {@link #nodeId} counts one lookup on that node, which the client
 * later returns with FORGET.
 */
public final class EntryOut {
    public long nodeId;
    public long generation;
    /** Dentry cache timeout in nanoseconds. */
    public long entryTimeoutNanos;
    /** Attribute cache timeout in nanoseconds. */
    public long attrTimeoutNanos;

    public final Attr attr = new Attr();

    public void clear() {
        nodeId = generation = entryTimeoutNanos = attrTimeoutNanos = 0;
        attr.clear();
    }
}
