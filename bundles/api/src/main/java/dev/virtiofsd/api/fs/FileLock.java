package dev.virtiofsd.api.fs;

/** {@code struct fuse_file_lock}: a POSIX byte-range lock, in and out. */
public final class FileLock {
    /** F_RDLCK, F_WRLCK, F_UNLCK as on Linux. */
    public static final int F_RDLCK = 0;

    public static final int F_WRLCK = 1;
    public static final int F_UNLCK = 2;

    public long start;
    /** Last byte of the range, inclusive; {@code Long.MAX_VALUE}/-1 means to the end. */
    public long end;

    public int type;
    public int pid;
}
