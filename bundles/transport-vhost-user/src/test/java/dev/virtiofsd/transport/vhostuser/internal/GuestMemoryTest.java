package dev.virtiofsd.transport.vhostuser.internal;

import static org.junit.jupiter.api.Assertions.*;

import dev.virtiofsd.linux.Linux;
import org.junit.jupiter.api.Test;

class GuestMemoryTest {
    @Test
    void translatesWithinRegionsOnly() throws Exception {
        int fd = Linux.memfdCreate("t", Linux.MFD_CLOEXEC);
        Linux.ftruncate(fd, 2 << 20);
        try (GuestMemory m = GuestMemory.EMPTY.withRegion(0x1000_0000L, 1 << 20, 0x7f00_0000_0000L, 1 << 20, fd)) {
            long base = m.translateGpa(0x1000_0000L, 1);
            assertNotEquals(0, base);
            assertEquals(base + 100, m.translateGpa(0x1000_0000L + 100, 10));
            assertEquals(base + 100, m.translateUva(0x7f00_0000_0000L + 100, 10));
            assertEquals(base + (1 << 20) - 1, m.translateGpa(0x1000_0000L + (1 << 20) - 1, 1));
            assertEquals(0, m.translateGpa(0x1000_0000L + (1 << 20) - 1, 2), "crosses the end");
            assertEquals(0, m.translateGpa(0x1000_0000L - 1, 1), "before the start");
            assertEquals(0, m.translateGpa(-1L, 1));
            assertEquals(0, m.translateGpa(0x1000_0000L, -1));
            assertEquals(0, m.translateUva(0x1000_0000L, 1), "a gpa is not a uva");
            assertEquals(-1, m.regionOfGpa(0x1000_0000L + (1 << 20)));
            // Overlapping regions are refused.
            assertThrows(
                    dev.virtiofsd.api.ErrnoException.class, () -> m.withRegion(0x1000_0000L + 4096, 4096, 0, 0, fd));
            GuestMemory two = m.withRegion(0x2000_0000L, 4096, 0x7f10_0000_0000L, 0, fd);
            assertEquals(2, two.regionCount());
            assertEquals(1, two.find(0x2000_0000L, 4096));
            GuestMemory one = two.without(1);
            assertEquals(1, one.regionCount());
            assertEquals(0, one.translateGpa(0x2000_0000L, 1));
        } finally {
            Linux.close(fd);
        }
    }

    @Test
    void absurdRegionsAreRefused() throws Exception {
        int fd = Linux.memfdCreate("t", Linux.MFD_CLOEXEC);
        Linux.ftruncate(fd, 1 << 20);
        try {
            GuestMemory e = GuestMemory.EMPTY;
            assertThrows(dev.virtiofsd.api.ErrnoException.class, () -> e.withRegion(0x1000, 0, 0, 0, fd));
            assertThrows(dev.virtiofsd.api.ErrnoException.class, () -> e.withRegion(0x1000, -4096, 0, 0, fd));
            assertThrows(dev.virtiofsd.api.ErrnoException.class, () -> e.withRegion(0x1000, 4096, 0, -1, fd));
            assertThrows(
                    dev.virtiofsd.api.ErrnoException.class,
                    () -> e.withRegion(0x1000, 4096, 0, Long.MAX_VALUE - 100, fd),
                    "size + offset overflows");
            assertThrows(
                    dev.virtiofsd.api.ErrnoException.class,
                    () -> e.withRegion(Long.MAX_VALUE - 100, 4096, 0, 0, fd),
                    "guest range wraps");
            assertThrows(
                    dev.virtiofsd.api.ErrnoException.class,
                    () -> e.withRegion(0x1000, 4096, Long.MAX_VALUE - 100, 0, fd),
                    "front-end range wraps");
            try (GuestMemory one = e.withRegion(0x1000, 1, 0x5000, 0, fd)) {
                assertEquals(1, one.regionCount(), "one byte is a region");
                assertEquals(one.translateGpa(0x1000, 1), one.translateUva(0x5000, 1));
            }
        } finally {
            Linux.close(fd);
        }
    }

    @Test
    void addressesTranslateBothWaysAtTheRegionsEdges() throws Exception {
        long gpa = 0x4000_0000L;
        long uva = 0x7f20_0000_0000L;
        int size = 1 << 20;
        int offset = 8192;
        int fd = Linux.memfdCreate("t", Linux.MFD_CLOEXEC);
        Linux.ftruncate(fd, size + offset);
        // a byte written through the file at offset + 10 is guest-physical gpa + 10
        long b = dev.virtiofsd.linux.NativeMemory.allocate(1);
        dev.virtiofsd.linux.NativeMemory.putByte(b, (byte) 0x5a);
        Linux.pwrite(fd, b, 1, offset + 10);
        dev.virtiofsd.linux.NativeMemory.free(b);
        try (GuestMemory m = GuestMemory.EMPTY.withRegion(gpa, size, uva, offset, fd)) {
            long h = m.translateGpa(gpa, size);
            assertNotEquals(0, h, "the whole region at once");
            assertEquals(0x5a, dev.virtiofsd.linux.NativeMemory.getByte(h + 10), "mmap offset applied");
            assertEquals(0, m.regionOfGpa(gpa));
            assertEquals(0, m.regionOfGpa(gpa + size - 1));
            assertEquals(-1, m.regionOfGpa(gpa - 1));
            assertEquals(-1, m.regionOfGpa(gpa + size));
            assertEquals(size - 10, m.remaining(0, gpa + 10));
            assertEquals(h + 10, m.hostOf(0, gpa + 10));
            assertEquals(gpa, m.gpaOf(0));
            assertEquals(size, m.sizeOf(0));
            assertEquals(h, m.translateUva(uva, size));
            assertEquals(h + size - 1, m.translateUva(uva + size - 1, 1));
            assertEquals(0, m.translateUva(uva + size - 1, 2), "crosses the end");
            assertEquals(0, m.translateUva(uva + size, 1));
            assertEquals(0, m.translateUva(uva - 1, 1));
            assertEquals(0, m.translateUva(uva, -1));
            assertEquals(0, m.translateGpa(gpa, size + 1));
            assertEquals(gpa + 10, m.gpaOfHost(h + 10));
            assertEquals(gpa, m.gpaOfHost(h));
            assertEquals(gpa + size - 1, m.gpaOfHost(h + size - 1));
            assertEquals(-1, m.gpaOfHost(h + size));
            assertEquals(-1, m.gpaOfHost(h - 1), "the mmap offset's bytes are no guest memory");
            assertEquals(-1, m.find(gpa, size - 1));
            assertEquals(-1, m.find(gpa + 1, size));
            assertEquals(0, m.find(gpa, size));
        } finally {
            Linux.close(fd);
        }
    }

    @Test
    void removingARegionKeepsTheOthersMapped() throws Exception {
        int fd = Linux.memfdCreate("t", Linux.MFD_CLOEXEC);
        Linux.ftruncate(fd, 1 << 20);
        try {
            GuestMemory two = GuestMemory.EMPTY
                    .withRegion(0x1000_0000L, 4096, 0x7f00_0000_0000L, 0, fd)
                    .withRegion(0x2000_0000L, 8192, 0x7f10_0000_0000L, 4096, fd);
            long second = two.translateGpa(0x2000_0000L, 8192);
            try (GuestMemory one = two.without(0)) {
                assertEquals(1, one.regionCount());
                assertEquals(-1, one.regionOfGpa(0x1000_0000L));
                assertEquals(second, one.translateGpa(0x2000_0000L, 8192));
                assertEquals(second + 5, one.translateUva(0x7f10_0000_0000L + 5, 1));
                assertEquals(0x2000_0000L + 5, one.gpaOfHost(second + 5));
                dev.virtiofsd.linux.NativeMemory.putByte(second + 8191, (byte) 1); // still mapped
            }
        } finally {
            Linux.close(fd);
        }
    }

    /** Whether any mapping of this process covers host address {@code a}. */
    private static boolean mapped(long a) throws Exception {
        for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/maps"))) {
            String[] range = line.substring(0, line.indexOf(' ')).split("-", -1);
            long start = Long.parseUnsignedLong(range[0], 16);
            long end = Long.parseUnsignedLong(range[1], 16);
            if (Long.compareUnsigned(a, start) >= 0 && Long.compareUnsigned(a, end) < 0) {
                return true;
            }
        }
        return false;
    }

    @Test
    void closingOrRemovingARegionUnmapsAllOfItTheMmapOffsetToo() throws Exception {
        int fd = Linux.memfdCreate("t", Linux.MFD_CLOEXEC);
        Linux.ftruncate(fd, 1 << 20);
        try {
            GuestMemory three = GuestMemory.EMPTY
                    .withRegion(0x1000_0000L, 4096, 0x7f00_0000_0000L, 0, fd)
                    .withRegion(0x2000_0000L, 8192, 0x7f10_0000_0000L, 8192, fd)
                    .withRegion(0x3000_0000L, 4096, 0x7f20_0000_0000L, 0, fd);
            long first = three.translateGpa(0x1000_0000L, 1);
            long middle = three.translateGpa(0x2000_0000L, 1); // 8192 bytes into its mapping
            long last = three.translateGpa(0x3000_0000L, 1);
            assertTrue(mapped(middle - 8192) && mapped(middle + 8191));
            GuestMemory two = three.without(1);
            assertFalse(mapped(middle - 8192), "the mmap offset's pages go too");
            assertFalse(mapped(middle + 8191), "and the region's last page");
            assertEquals(2, two.regionCount());
            assertEquals(first, two.translateGpa(0x1000_0000L, 1));
            assertEquals(last, two.translateGpa(0x3000_0000L, 1));
            assertEquals(1, two.find(0x3000_0000L, 4096));
            two.close();
            assertFalse(mapped(first));
            assertFalse(mapped(last));
        } finally {
            Linux.close(fd);
        }
    }

    @Test
    void adjacentRegionsAreNoOverlapOnEitherSide() throws Exception {
        int fd = Linux.memfdCreate("t", Linux.MFD_CLOEXEC);
        Linux.ftruncate(fd, 1 << 20);
        try (GuestMemory m = GuestMemory.EMPTY
                .withRegion(0x2000_0000L, 4096, 0x7f00_0000_0000L, 0, fd)
                .withRegion(0x2000_0000L - 4096, 4096, 0x7f10_0000_0000L, 0, fd)
                .withRegion(0x2000_0000L + 4096, 4096, 0x7f20_0000_0000L, 0, fd)) {
            assertEquals(3, m.regionCount());
            assertThrows(
                    dev.virtiofsd.api.ErrnoException.class,
                    () -> m.withRegion(0x2000_0000L - 1, 2, 0x7f30_0000_0000L, 0, fd),
                    "one byte of overlap");
            // a region of no bytes is refused even where its mapping (the offset) would not be empty
            assertThrows(dev.virtiofsd.api.ErrnoException.class, () -> m.withRegion(0x5000_0000L, 0, 0, 4096, fd));
        } finally {
            Linux.close(fd);
        }
    }
}
