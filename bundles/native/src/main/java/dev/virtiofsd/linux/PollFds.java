package dev.virtiofsd.linux;

import dev.virtiofsd.api.ErrnoException;

/**
 * A reusable array of {@code struct pollfd} (int fd, short events, short revents: 8 bytes each)
 * for {@code poll(2)}. Not thread-safe: one per polling thread.
 */
public final class PollFds implements AutoCloseable {
    public static final int SIZE = 8;

    private final int capacity;
    private final long address;

    public PollFds(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity " + capacity);
        }
        this.capacity = capacity;
        this.address = NativeMemory.allocate((long) SIZE * capacity);
        NativeMemory.fill(address, (long) SIZE * capacity, (byte) 0);
    }

    public long address() {
        return address;
    }

    /** Watches {@code fd} for {@code events} (POLLIN, ...) in slot {@code i}; clears its revents. */
    public PollFds set(int i, int fd, int events) {
        long a = at(i);
        NativeMemory.putInt(a, fd);
        NativeMemory.putShort(a + 4, (short) events);
        NativeMemory.putShort(a + 6, (short) 0);
        return this;
    }

    public int fd(int i) {
        return NativeMemory.getInt(at(i));
    }

    public int events(int i) {
        return NativeMemory.getShort(at(i) + 4) & 0xffff;
    }

    /** What poll reported for slot {@code i} (POLLIN, POLLERR, POLLHUP, POLLNVAL...). */
    public int revents(int i) {
        return NativeMemory.getShort(at(i) + 6) & 0xffff;
    }

    /**
     * poll(2) over the first {@code n} slots; returns how many have events (0 on timeout).
     * {@code timeoutMillis} -1 waits for ever.
     */
    public int poll(int n, int timeoutMillis) throws ErrnoException {
        if (n <= 0 || n > capacity) {
            throw new IllegalArgumentException("poll of " + n + " slots, capacity " + capacity);
        }
        return Linux.poll(address, n, timeoutMillis);
    }

    private long at(int i) {
        if (i < 0 || i >= capacity) {
            throw new IndexOutOfBoundsException(i);
        }
        return address + (long) SIZE * i;
    }

    @Override
    public void close() {
        NativeMemory.free(address);
    }
}
