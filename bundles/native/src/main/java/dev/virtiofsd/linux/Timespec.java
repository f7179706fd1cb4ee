package dev.virtiofsd.linux;

import dev.virtiofsd.api.ErrnoException;

/**
 * A reusable array of {@code struct timespec} (long tv_sec, long tv_nsec: 16 bytes each), as
 * {@code utimensat(2)} takes two of them (access, then modification time). Not thread-safe.
 */
public final class Timespec implements AutoCloseable {
    public static final int SIZE = 16;
    /** tv_nsec value: set this time to now. */
    public static final long UTIME_NOW = (1L << 30) - 1;
    /** tv_nsec value: leave this time as it is. */
    public static final long UTIME_OMIT = (1L << 30) - 2;

    private final int count;
    private final long address;

    public Timespec(int count) {
        if (count <= 0) {
            throw new IllegalArgumentException("count " + count);
        }
        this.count = count;
        this.address = NativeMemory.allocate((long) SIZE * count);
        NativeMemory.fill(address, (long) SIZE * count, (byte) 0);
    }

    public long address() {
        return address;
    }

    public int count() {
        return count;
    }

    /** Sets element {@code i}; {@code nanos} may be {@link #UTIME_NOW} or {@link #UTIME_OMIT}. */
    public Timespec set(int i, long seconds, long nanos) {
        long a = at(i);
        NativeMemory.putLong(a, seconds);
        NativeMemory.putLong(a + 8, nanos);
        return this;
    }

    public long seconds(int i) {
        return NativeMemory.getLong(at(i));
    }

    public long nanos(int i) {
        return NativeMemory.getLong(at(i) + 8);
    }

    /** utimensat(2) with elements 0 (atime) and 1 (mtime); {@code path} is a NUL-terminated native string. */
    public void utimensat(int dirfd, long path, int flags) throws ErrnoException {
        if (count < 2) {
            throw new IllegalStateException("utimensat needs two timespecs, this holds " + count);
        }
        Linux.utimensat(dirfd, path, address, flags);
    }

    private long at(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException(i);
        }
        return address + (long) SIZE * i;
    }

    @Override
    public void close() {
        NativeMemory.free(address);
    }
}
