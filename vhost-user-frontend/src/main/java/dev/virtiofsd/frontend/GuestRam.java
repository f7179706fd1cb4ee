package dev.virtiofsd.frontend;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import java.nio.ByteBuffer;

/**
 * The front end's guest memory: one memfd, mapped here, shown to the back end as two regions (the
 * low half at guest-physical 0, the high half at {@link VhostUserFrontend#HIGH_GPA}, like a real
 * guest's RAM above 4 GiB) with "QEMU virtual" addresses of their own, so that a back end that mixes
 * up guest-physical and QEMU addresses, or the two regions, reads the wrong bytes.
 */
final class GuestRam implements AutoCloseable {
    private static final long UVA0 = 0x7f00_0000_0000L;
    private static final long UVA1 = 0x7f40_0000_0000L;

    final int memfd;
    private final long size;
    private final long hostBase;
    private final long half;
    /** Next free offset in the low region (the first page stays unused) and in the high one. */
    private long bump = 4096;

    private long highBump = 0;

    GuestRam(long size) throws ErrnoException {
        if (size % (2L << 20) != 0) {
            throw new IllegalArgumentException("memory size must be a multiple of 2 MiB");
        }
        this.size = size;
        memfd = Linux.memfdCreate("guest-ram", Linux.MFD_CLOEXEC);
        Linux.ftruncate(memfd, size);
        hostBase = Linux.mmap(0, size, Linux.PROT_READ | Linux.PROT_WRITE, Linux.MAP_SHARED, memfd, 0);
        half = size / 2;
    }

    /** Allocates guest memory, in the low (region 0) or high (region 1) half; returns its gpa. */
    long alloc(long len, int align, boolean high) {
        // Low allocations grow from the bottom of region 0, high ones from the bottom of region 1.
        if (high) {
            long off = (highBump + align - 1) & -align;
            if (off + len > half) {
                throw new IllegalStateException("guest memory exhausted (high)");
            }
            highBump = off + len;
            return VhostUserFrontend.HIGH_GPA + off;
        }
        long off = (bump + align - 1) & -align;
        if (off + len > half) {
            throw new IllegalStateException("guest memory exhausted (low)");
        }
        bump = off + len;
        return off;
    }

    /** Host address of guest-physical {@code gpa}. */
    long host(long gpa) {
        if (gpa >= VhostUserFrontend.HIGH_GPA && gpa - VhostUserFrontend.HIGH_GPA < half) {
            return hostBase + half + (gpa - VhostUserFrontend.HIGH_GPA);
        }
        if (gpa >= 0 && gpa < half) {
            return hostBase + gpa;
        }
        throw new IllegalArgumentException("gpa 0x" + Long.toHexString(gpa) + " not in guest memory");
    }

    /** The "QEMU virtual address" of {@code gpa} that ring addresses are given in. */
    long uva(long gpa) {
        return gpa >= VhostUserFrontend.HIGH_GPA ? UVA1 + (gpa - VhostUserFrontend.HIGH_GPA) : UVA0 + gpa;
    }

    void write(long gpa, byte[] b) {
        NativeMemory.putBytes(host(gpa), b, 0, b.length);
    }

    byte[] read(long gpa, int len) {
        byte[] b = new byte[len];
        NativeMemory.getBytes(host(gpa), b, 0, len);
        return b;
    }

    /** Appends region {@code i}: guest_phys_addr, memory_size, userspace_addr, mmap_offset. */
    @SuppressWarnings("ByteBufferBackingArray") // callers pass ByteBuffer.allocate buffers: offset 0
    byte[] region(ByteBuffer b, int i) {
        if (i == 0) {
            b.putLong(0).putLong(half).putLong(UVA0).putLong(0);
        } else {
            b.putLong(VhostUserFrontend.HIGH_GPA).putLong(half).putLong(UVA1).putLong(half);
        }
        return b.array();
    }

    @Override
    public void close() {
        try {
            Linux.munmap(hostBase, size);
        } catch (ErrnoException e) {
            // process exit releases it
        }
        Linux.close(memfd);
    }
}
