package dev.virtiofsd.transport.vhostuser.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import org.junit.jupiter.api.Test;

/** The bitmap layout QEMU reads: bit (page % 64) of little-endian u64 word (page / 64), 4 KiB pages. */
class DirtyLogTest {
    private static long word(int memfd, int index) throws ErrnoException {
        long b = NativeMemory.allocate(8);
        try {
            Linux.pread(memfd, b, 8, 8L * index);
            return NativeMemory.getLong(b);
        } finally {
            NativeMemory.free(b);
        }
    }

    @Test
    void marksEveryTouchedPageAndNothingElse() throws Exception {
        int fd = Linux.memfdCreate("log", Linux.MFD_CLOEXEC);
        Linux.ftruncate(fd, 64);
        try (DirtyLog log = DirtyLog.map(fd, 64, 0)) {
            assertEquals(512, log.pages());
            log.mark(5 * 4096 + 10, 1);
            assertEquals(1L << 5, word(fd, 0));
            // 4097 bytes from the start of page 64 touch pages 64 and 65
            log.mark(64L * 4096, 4097);
            assertEquals(3L, word(fd, 1));
            // one byte before a page boundary plus one after: two pages
            log.mark(200L * 4096 - 1, 2);
            assertEquals((1L << (199 - 192)) | (1L << (200 - 192)), word(fd, 3));
            assertTrue(log.isDirty(199L * 4096));
            assertFalse(log.isDirty(198L * 4096));
            // beyond the log, zero and negative lengths: ignored, no fault
            log.mark(1L << 40, 4096);
            log.mark(511L * 4096, 1L << 20);
            log.mark(0, 0);
            log.mark(-4096, 8192);
            assertEquals(1L << 63, word(fd, 7));
            assertEquals(0, word(fd, 2));
        } finally {
            Linux.close(fd);
        }
    }

    @Test
    void absurdDescriptionsAreRefused() throws Exception {
        int fd = Linux.memfdCreate("log", Linux.MFD_CLOEXEC);
        try {
            assertThrows(ErrnoException.class, () -> DirtyLog.map(fd, 0, 0));
            assertThrows(ErrnoException.class, () -> DirtyLog.map(fd, -8, 0));
            assertThrows(ErrnoException.class, () -> DirtyLog.map(fd, 1L << 40, 0));
            assertThrows(ErrnoException.class, () -> DirtyLog.map(fd, 64, 3));
        } finally {
            Linux.close(fd);
        }
    }
}
