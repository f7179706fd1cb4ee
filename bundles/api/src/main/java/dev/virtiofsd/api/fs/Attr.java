package dev.virtiofsd.api.fs;

/** The fields of {@code struct fuse_attr}; mutable and reused per worker. */
public final class Attr {
    /** {@code FUSE_ATTR_SUBMOUNT}: the inode is the root of a host submount. */
    public static final int FLAG_SUBMOUNT = 1 << 0;

    public long ino;
    public long size;
    public long blocks;
    public long atime;
    public long mtime;
    public long ctime;
    public int atimensec;
    public int mtimensec;
    public int ctimensec;
    public int mode;
    public int nlink;
    public int uid;
    public int gid;
    public int rdev;
    public int blksize;
    public int flags;

    public void clear() {
        ino = size = blocks = atime = mtime = ctime = 0;
        atimensec = mtimensec = ctimensec = mode = nlink = uid = gid = rdev = blksize = flags = 0;
    }
}
