package dev.virtiofsd.api.fs;

/** Decoded {@code struct fuse_setattr_in}: {@link #valid} says which fields to apply. */
public final class SetattrIn {
    public static final int FATTR_MODE = 1 << 0;
    public static final int FATTR_UID = 1 << 1;
    public static final int FATTR_GID = 1 << 2;
    public static final int FATTR_SIZE = 1 << 3;
    public static final int FATTR_ATIME = 1 << 4;
    public static final int FATTR_MTIME = 1 << 5;
    public static final int FATTR_FH = 1 << 6;
    public static final int FATTR_ATIME_NOW = 1 << 7;
    public static final int FATTR_MTIME_NOW = 1 << 8;
    public static final int FATTR_LOCKOWNER = 1 << 9;
    public static final int FATTR_CTIME = 1 << 10;
    public static final int FATTR_KILL_SUIDGID = 1 << 11;

    public int valid;
    public long fh;
    public long size;
    public long lockOwner;
    public long atime;
    public long mtime;
    public long ctime;
    public int atimensec;
    public int mtimensec;
    public int ctimensec;
    public int mode;
    public int uid;
    public int gid;

    public boolean has(int bit) {
        return (valid & bit) != 0;
    }
}
