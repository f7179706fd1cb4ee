package dev.virtiofsd.transport.vhostuser.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The front end's dirty-page log for live migration (vhost-user {@code SET_LOG_BASE} with
 * {@code LOG_SHMFD}): shared memory holding one bit per 4 KiB page of guest-physical address, bit
 * {@code page % 64} of little-endian u64 word {@code page / 64}, set with an atomic OR so that the
 * front end, which reads and clears words concurrently, never loses a bit. While the front end has
 * acked {@code VHOST_F_LOG_ALL}, every byte the daemon writes into guest memory is marked here
 * before the used-ring entry that publishes it.
 */
final class DirtyLog implements AutoCloseable {
    static final int PAGE_SHIFT = 12;

    private static final VarHandle WORDS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final long mapping;
    private final long mappingLength;
    private final ByteBuffer words;
    /** Number of pages the log covers. */
    private final long pages;

    private DirtyLog(long mapping, long mappingLength, ByteBuffer words) {
        this.mapping = mapping;
        this.mappingLength = mappingLength;
        this.words = words;
        this.pages = (long) words.capacity() * 8;
    }

    /**
     * Maps {@code size} bytes of log at {@code offset} in {@code fd} (MAP_SHARED). The fd is not
     * closed here.
     */
    static DirtyLog map(int fd, long size, long offset) throws ErrnoException {
        if (size <= 0 || size > Integer.MAX_VALUE - 8 || offset < 0 || (offset & 7) != 0 || offset > 1L << 40) {
            throw ErrnoException.of(Errno.EINVAL, "dirty log of " + size + " bytes at offset " + offset);
        }
        long length = size + offset;
        long base = Linux.mmap(0, length, Linux.PROT_READ | Linux.PROT_WRITE, Linux.MAP_SHARED, fd, 0);
        // Whole words only: a trailing partial word is never touched.
        int usable = (int) (size & ~7L);
        return new DirtyLog(base, length, NativeMemory.wrap(base + offset, usable));
    }

    /** Pages covered, for tests. */
    long pages() {
        return pages;
    }

    /** Marks every 4 KiB page that {@code [gpa, gpa+len)} touches; pages beyond the log are ignored. */
    void mark(long gpa, long len) {
        if (len <= 0 || gpa < 0) {
            return;
        }
        long first = gpa >>> PAGE_SHIFT;
        long last = (gpa + len - 1) >>> PAGE_SHIFT;
        if (last >= pages) {
            last = pages - 1;
        }
        for (long page = first; page <= last; page++) {
            int index = (int) ((page >>> 6) << 3);
            long bit = 1L << (page & 63);
            // Read first: most writes land on pages already marked in this round.
            if (((long) WORDS.getVolatile(words, index) & bit) == 0) {
                WORDS.getAndBitwiseOr(words, index, bit);
            }
        }
    }

    /** Whether the page holding {@code gpa} is marked, for tests. */
    boolean isDirty(long gpa) {
        long page = gpa >>> PAGE_SHIFT;
        if (page >= pages) {
            return false;
        }
        return ((long) WORDS.getVolatile(words, (int) ((page >>> 6) << 3)) & (1L << (page & 63))) != 0;
    }

    @Override
    public void close() {
        try {
            Linux.munmap(mapping, mappingLength);
        } catch (ErrnoException e) {
            // the mapping goes with the process
        }
    }
}
