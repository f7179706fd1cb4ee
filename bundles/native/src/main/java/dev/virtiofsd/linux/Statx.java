package dev.virtiofsd.linux;

import dev.virtiofsd.api.ErrnoException;

/**
 * A reusable {@code struct statx} buffer in native memory with typed getters. Not thread-safe:
 * keep one per worker thread. Free it with {@link #close()} when the thread is done.
 */
public final class Statx implements AutoCloseable {
    public static final int SIZE = 256;
    private final long address = NativeMemory.allocate(SIZE);

    public long address() {
        return address;
    }

    /** statx of the file behind {@code fd} (O_PATH works), basic stats plus mount id. */
    public Statx ofFd(int fd) throws ErrnoException {
        Linux.statx(
                fd,
                Linux.EMPTY_PATH,
                Linux.AT_EMPTY_PATH | Linux.AT_SYMLINK_NOFOLLOW,
                Linux.STATX_BASIC_STATS | Linux.STATX_MNT_ID,
                this);
        return this;
    }

    /** statx of {@code name} (address of a NUL-terminated name) in {@code dirfd}, not following links. */
    public Statx of(int dirfd, long name) throws ErrnoException {
        Linux.statx(dirfd, name, Linux.AT_SYMLINK_NOFOLLOW, Linux.STATX_BASIC_STATS | Linux.STATX_MNT_ID, this);
        return this;
    }

    public int mask() {
        return NativeMemory.getInt(address);
    }

    public int blksize() {
        return NativeMemory.getInt(address + 4);
    }

    public int nlink() {
        return NativeMemory.getInt(address + 16);
    }

    public int uid() {
        return NativeMemory.getInt(address + 20);
    }

    public int gid() {
        return NativeMemory.getInt(address + 24);
    }

    /** st_mode: file type and permission bits. */
    public int mode() {
        return NativeMemory.getShort(address + 28) & 0xffff;
    }

    public long ino() {
        return NativeMemory.getLong(address + 32);
    }

    public long size() {
        return NativeMemory.getLong(address + 40);
    }

    public long blocks() {
        return NativeMemory.getLong(address + 48);
    }

    public long atimeSec() {
        return NativeMemory.getLong(address + 64);
    }

    public int atimeNsec() {
        return NativeMemory.getInt(address + 72);
    }

    public long ctimeSec() {
        return NativeMemory.getLong(address + 96);
    }

    public int ctimeNsec() {
        return NativeMemory.getInt(address + 104);
    }

    public long mtimeSec() {
        return NativeMemory.getLong(address + 112);
    }

    public int mtimeNsec() {
        return NativeMemory.getInt(address + 120);
    }

    public int rdevMajor() {
        return NativeMemory.getInt(address + 128);
    }

    public int rdevMinor() {
        return NativeMemory.getInt(address + 132);
    }

    public int devMajor() {
        return NativeMemory.getInt(address + 136);
    }

    public int devMinor() {
        return NativeMemory.getInt(address + 140);
    }

    /** Whether the kernel filled in the mount id (STATX_MNT_ID came with Linux 5.8). */
    public boolean hasMntId() {
        return (mask() & Linux.STATX_MNT_ID) != 0;
    }

    /** Mount id, valid when {@link #hasMntId()}; else 0 (see {@link Linux#fdinfoMountId(int)}). */
    public long mntId() {
        return (mask() & Linux.STATX_MNT_ID) != 0 ? NativeMemory.getLong(address + 144) : 0;
    }

    /**
     * The mount id of {@code fd}, the file this buffer was filled from: from statx, else (kernels
     * before 5.8) from /proc/self/fdinfo.
     */
    public long mountIdOf(int fd) throws ErrnoException {
        return hasMntId() ? mntId() : Linux.fdinfoMountId(fd);
    }

    /** st_dev as glibc's makedev encodes it. */
    public long dev() {
        return makedev(devMajor(), devMinor());
    }

    /** st_rdev as glibc's makedev encodes it. */
    public long rdev() {
        return makedev(rdevMajor(), rdevMinor());
    }

    /** The 32-bit device number FUSE carries in {@code fuse_attr.rdev} (the kernel's new_encode_dev). */
    public int rdevFuse() {
        int major = rdevMajor();
        int minor = rdevMinor();
        return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
    }

    public static long makedev(long major, long minor) {
        return ((major & 0xfffff000L) << 32)
                | ((major & 0xfffL) << 8)
                | ((minor & 0xffffff00L) << 12)
                | (minor & 0xffL);
    }

    /** Major number of a glibc-encoded dev_t. */
    public static long major(long dev) {
        return ((dev >>> 32) & 0xfffff000L) | ((dev >>> 8) & 0xfffL);
    }

    /** Minor number of a glibc-encoded dev_t. */
    public static long minor(long dev) {
        return ((dev >>> 12) & 0xffffff00L) | (dev & 0xffL);
    }

    public boolean isDirectory() {
        return (mode() & Linux.S_IFMT) == Linux.S_IFDIR;
    }

    @Override
    public void close() {
        NativeMemory.free(address);
    }
}
