package dev.virtiofsd.api.fs;

/** Reply of OPEN, OPENDIR and the open part of CREATE. */
public final class OpenOut {
    /** {@code FOPEN_DIRECT_IO}: bypass the client's page cache. */
    public static final int DIRECT_IO = 1 << 0;
    /** {@code FOPEN_KEEP_CACHE}: keep cached pages on open. */
    public static final int KEEP_CACHE = 1 << 1;
    /** {@code FOPEN_NONSEEKABLE}. */
    public static final int NONSEEKABLE = 1 << 2;
    /** {@code FOPEN_CACHE_DIR}: allow caching the directory's entries. */
    public static final int CACHE_DIR = 1 << 3;

    /** The file handle the client passes back on every request on this open file. */
    public long fh;

    public int openFlags;

    public void clear() {
        fh = 0;
        openFlags = 0;
    }
}
