package dev.virtiofsd.linux;

import dev.virtiofsd.api.ErrnoException;

/**
 * A reusable {@code struct flock} (x86-64 and aarch64: short l_type, short l_whence, padding,
 * off_t l_start, off_t l_len, pid_t l_pid, padding: 32 bytes) for open-file-description locks.
 * Not thread-safe: keep one per thread, or take {@link #perThread()}.
 */
public final class Flock implements AutoCloseable {
    public static final int SIZE = 32;

    public static final short F_RDLCK = 0;
    public static final short F_WRLCK = 1;
    public static final short F_UNLCK = 2;

    private static final ThreadLocal<Flock> PER_THREAD = ThreadLocal.withInitial(Flock::new);

    private final long address = NativeMemory.allocate(SIZE);

    /** This thread's lock struct; lives as long as the thread (do not close it). */
    public static Flock perThread() {
        return PER_THREAD.get();
    }

    public long address() {
        return address;
    }

    /**
     * Describes the range {@code [start, start+len)} from the start of the file ({@code len} 0: to
     * the end); the pid is 0, as OFD lock commands require.
     */
    public Flock set(short type, long start, long len) {
        NativeMemory.fill(address, SIZE, (byte) 0);
        NativeMemory.putShort(address, type);
        NativeMemory.putShort(address + 2, (short) Linux.SEEK_SET);
        NativeMemory.putLong(address + 8, start);
        NativeMemory.putLong(address + 16, len);
        return this;
    }

    /** fcntl(2) {@code cmd} (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW) with this struct on {@code fd}. */
    public Flock ofdLock(int fd, int cmd) throws ErrnoException {
        Linux.ofdLock(fd, cmd, address);
        return this;
    }

    /** l_type: F_RDLCK, F_WRLCK or F_UNLCK (after F_OFD_GETLK: F_UNLCK when nothing conflicts). */
    public short type() {
        return NativeMemory.getShort(address);
    }

    public short whence() {
        return NativeMemory.getShort(address + 2);
    }

    public long start() {
        return NativeMemory.getLong(address + 8);
    }

    /** l_len: 0 means "to the end of the file". */
    public long len() {
        return NativeMemory.getLong(address + 16);
    }

    /** l_pid: -1 for a conflicting OFD lock (it belongs to no process). */
    public int pid() {
        return NativeMemory.getInt(address + 24);
    }

    @Override
    public void close() {
        NativeMemory.free(address);
    }
}
