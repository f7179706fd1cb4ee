package dev.virtiofsd.linux;

import dev.virtiofsd.api.ErrnoException;

/**
 * A reusable {@code struct statvfs} buffer (glibc, x86-64 and aarch64: eleven unsigned longs then
 * spare ints, 112 bytes) with typed getters. Not thread-safe: keep one per thread, or take
 * {@link #perThread()}.
 */
public final class Statvfs implements AutoCloseable {
    public static final int SIZE = 112;

    private static final ThreadLocal<Statvfs> PER_THREAD = ThreadLocal.withInitial(Statvfs::new);

    private final long address = NativeMemory.allocate(SIZE);

    /** This thread's buffer; lives as long as the thread (do not close it). */
    public static Statvfs perThread() {
        return PER_THREAD.get();
    }

    public long address() {
        return address;
    }

    /** fstatvfs(2) of the filesystem holding {@code fd} (O_PATH works). */
    public Statvfs ofFd(int fd) throws ErrnoException {
        Linux.fstatvfs(fd, address);
        return this;
    }

    /** f_bsize: preferred I/O block size. */
    public long blockSize() {
        return NativeMemory.getLong(address);
    }

    /** f_frsize: the unit of {@link #blocks()}, {@link #freeBlocks()}, {@link #availableBlocks()}. */
    public long fragmentSize() {
        return NativeMemory.getLong(address + 8);
    }

    public long blocks() {
        return NativeMemory.getLong(address + 16);
    }

    public long freeBlocks() {
        return NativeMemory.getLong(address + 24);
    }

    /** f_bavail: free blocks an unprivileged user may use. */
    public long availableBlocks() {
        return NativeMemory.getLong(address + 32);
    }

    public long files() {
        return NativeMemory.getLong(address + 40);
    }

    public long freeFiles() {
        return NativeMemory.getLong(address + 48);
    }

    public long availableFiles() {
        return NativeMemory.getLong(address + 56);
    }

    public long fsid() {
        return NativeMemory.getLong(address + 64);
    }

    /** f_flag: ST_RDONLY, ST_NOSUID, ... */
    public long flags() {
        return NativeMemory.getLong(address + 72);
    }

    /** f_namemax: longest file name. */
    public long nameMax() {
        return NativeMemory.getLong(address + 80);
    }

    @Override
    public void close() {
        NativeMemory.free(address);
    }
}
