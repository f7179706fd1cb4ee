package dev.virtiofsd.api.fs;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Where READDIR and READDIRPLUS put their entries. The filesystem asks {@link #fits} before it
 * does the work for an entry (for READDIRPLUS a lookup, which counts), then {@link #add}s it.
 */
@ProviderType
public interface DirSink {
    /** True for READDIRPLUS: every entry carries an {@link EntryOut}. */
    boolean plus();

    /** Whether one more entry with a name of {@code nameLen} bytes fits in the reply. */
    boolean fits(int nameLen);

    /** A scratch entry for READDIRPLUS, cleared by the sink after each {@link #add}. */
    EntryOut entry();

    /**
     * Appends an entry. {@code nextOffset} is the offset of the entry after this one, as the
     * client will pass it back. For READDIRPLUS the sink copies {@link #entry()} along.
     */
    void add(long ino, long nextOffset, int type, long nameAddress, int nameLength);
}
