package dev.virtiofsd.api.fs;

/** The fields of {@code struct fuse_kstatfs}. */
public final class StatfsOut {
    public long blocks;
    public long bfree;
    public long bavail;
    public long files;
    public long ffree;
    public int bsize;
    public int namelen;
    public int frsize;
}
