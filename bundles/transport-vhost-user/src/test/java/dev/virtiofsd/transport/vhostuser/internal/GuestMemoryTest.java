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
}
