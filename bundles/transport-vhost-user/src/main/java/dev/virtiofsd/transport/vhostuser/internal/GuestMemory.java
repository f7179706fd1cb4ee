package dev.virtiofsd.transport.vhostuser.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;

/**
 * The front end's memory regions, mapped into this process. Immutable once built: a table change
 * builds a new instance while the queues are stopped, then unmaps the old one.
 */
public final class GuestMemory implements AutoCloseable {
    /** A region's bounds. All arrays are parallel. */
    private final long[] gpa;

    private final long[] size;
    private final long[] uva;
    private final long[] mmapOffset;
    private final long[] host;
    private final int count;

    public static final GuestMemory EMPTY =
            new GuestMemory(new long[0], new long[0], new long[0], new long[0], new long[0]);

    private GuestMemory(long[] gpa, long[] size, long[] uva, long[] mmapOffset, long[] host) {
        this.gpa = gpa;
        this.size = size;
        this.uva = uva;
        this.mmapOffset = mmapOffset;
        this.host = host;
        this.count = gpa.length;
    }

    public int regionCount() {
        return count;
    }

    /**
     * Maps {@code fd} MAP_SHARED over {@code [0, size + mmapOffset)} and returns a table with the
     * region added. The fd is not closed here.
     */
    public GuestMemory withRegion(long regionGpa, long regionSize, long regionUva, long regionOffset, int fd)
            throws ErrnoException {
        if (regionSize <= 0
                || regionOffset < 0
                || regionSize + regionOffset < regionSize
                || (regionGpa + regionSize < regionGpa && regionGpa + regionSize != 0)
                || (regionUva + regionSize < regionUva && regionUva + regionSize != 0)) {
            throw ErrnoException.of(Errno.EINVAL, "memory region size " + regionSize + " offset " + regionOffset);
        }
        for (int i = 0; i < count; i++) {
            if (overlaps(gpa[i], size[i], regionGpa, regionSize)) {
                throw ErrnoException.of(
                        Errno.EINVAL,
                        "memory region at guest address 0x" + Long.toHexString(regionGpa) + " overlaps another");
            }
        }
        long base =
                Linux.mmap(0, regionSize + regionOffset, Linux.PROT_READ | Linux.PROT_WRITE, Linux.MAP_SHARED, fd, 0);
        long[] g = append(gpa, regionGpa);
        long[] s = append(size, regionSize);
        long[] u = append(uva, regionUva);
        long[] o = append(mmapOffset, regionOffset);
        long[] h = append(host, base);
        return new GuestMemory(g, s, u, o, h);
    }

    /** The index of the region of this guest address and size, or -1; unmaps nothing (see {@link #without}). */
    public int find(long regionGpa, long regionSize) {
        for (int i = 0; i < count; i++) {
            if (gpa[i] == regionGpa && size[i] == regionSize) {
                return i;
            }
        }
        return -1;
    }

    /** A table without region {@code index}; that region's mapping is removed. */
    public GuestMemory without(int index) {
        unmap(index);
        long[] g = new long[count - 1];
        long[] s = new long[count - 1];
        long[] u = new long[count - 1];
        long[] o = new long[count - 1];
        long[] h = new long[count - 1];
        for (int i = 0, j = 0; i < count; i++) {
            if (i != index) {
                g[j] = gpa[i];
                s[j] = size[i];
                u[j] = uva[i];
                o[j] = mmapOffset[i];
                h[j] = host[i];
                j++;
            }
        }
        return new GuestMemory(g, s, u, o, h);
    }

    private static boolean overlaps(long a, long alen, long b, long blen) {
        return Long.compareUnsigned(a, b + blen) < 0 && Long.compareUnsigned(b, a + alen) < 0;
    }

    private static long[] append(long[] a, long v) {
        long[] r = java.util.Arrays.copyOf(a, a.length + 1);
        r[a.length] = v;
        return r;
    }

    /** Index of the region holding guest-physical {@code addr}, or -1. */
    public int regionOfGpa(long addr) {
        for (int i = 0; i < count; i++) {
            long off = addr - gpa[i];
            if (off >= 0 && Long.compareUnsigned(off, size[i]) < 0 && Long.compareUnsigned(addr, gpa[i]) >= 0) {
                return i;
            }
        }
        return -1;
    }

    /** Host address of guest-physical {@code addr} in region {@code r}. */
    public long hostOf(int r, long addr) {
        return host[r] + mmapOffset[r] + (addr - gpa[r]);
    }

    /** Guest-physical start of region {@code r}. */
    long gpaOf(int r) {
        return gpa[r];
    }

    /** Size of region {@code r}. */
    long sizeOf(int r) {
        return size[r];
    }

    /** Bytes from {@code addr} to the end of region {@code r}. */
    public long remaining(int r, long addr) {
        return size[r] - (addr - gpa[r]);
    }

    /**
     * Host address of {@code [addr, addr+len)} in guest-physical space if it lies within one region,
     * else 0.
     */
    public long translateGpa(long addr, long len) {
        int r = regionOfGpa(addr);
        if (r < 0 || len < 0 || Long.compareUnsigned(len, remaining(r, addr)) > 0) {
            return 0;
        }
        return hostOf(r, addr);
    }

    /** Host address of {@code [addr, addr+len)} in the front end's virtual address space, else 0. */
    public long translateUva(long addr, long len) {
        for (int i = 0; i < count; i++) {
            long off = addr - uva[i];
            if (Long.compareUnsigned(addr, uva[i]) >= 0 && Long.compareUnsigned(off, size[i]) < 0) {
                if (len < 0 || Long.compareUnsigned(len, size[i] - off) > 0) {
                    return 0;
                }
                return host[i] + mmapOffset[i] + off;
            }
        }
        return 0;
    }

    /**
     * The guest-physical address of host address {@code h} inside a mapped region, or -1. Only used
     * while the dirty log is on (live migration), so a linear scan over the few regions is fine.
     */
    public long gpaOfHost(long h) {
        for (int i = 0; i < count; i++) {
            long start = host[i] + mmapOffset[i];
            long off = h - start;
            if (Long.compareUnsigned(h, start) >= 0 && Long.compareUnsigned(off, size[i]) < 0) {
                return gpa[i] + off;
            }
        }
        return -1;
    }

    private void unmap(int i) {
        try {
            Linux.munmap(host[i], size[i] + mmapOffset[i]);
        } catch (ErrnoException e) {
            // nothing more to do; the mapping goes with the process
        }
    }

    /** Unmaps every region. */
    @Override
    public void close() {
        for (int i = 0; i < count; i++) {
            unmap(i);
        }
    }
}
