package dev.virtiofsd.strategy.fd.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FdStrategyTest {
    @TempDir
    Path dir;

    @Test
    void keepsTheFdAndReopensThroughIt() throws Exception {
        Files.writeString(dir.resolve("f"), "hello");
        int root = Linux.open(dir.toString(), Linux.O_PATH | Linux.O_DIRECTORY, 0);
        FdStrategy strategy = new FdStrategy();
        assertEquals("fd", strategy.name());
        try (IdentityProvider provider = strategy.open(root)) {
            int fd = Linux.openat(root, "f", Linux.O_PATH | Linux.O_NOFOLLOW, 0);
            InodeIdentity id = provider.identify(fd, 0, Linux.S_IFREG);
            assertEquals("fd", id.kind());
            assertNull(id.handle());
            assertTrue(id.pinsInode());
            assertEquals(1, id.heldFds());
            assertEquals(fd, id.acquirePath());
            id.releasePath(fd);
            int rw = id.open(Linux.O_RDONLY);
            long buf = NativeMemory.allocate(16);
            try {
                int n = Linux.pread(rw, buf, 16, 0);
                byte[] b = new byte[n];
                NativeMemory.getBytes(buf, b, 0, n);
                assertEquals("hello", new String(b, StandardCharsets.UTF_8));
            } finally {
                NativeMemory.free(buf);
                Linux.close(rw);
            }
            id.close();
            // the O_PATH fd is gone now
            assertThrows(ErrnoException.class, () -> Linux.fcntl(fd, Linux.F_GETFL, 0));
        } finally {
            Linux.close(root);
        }
    }
}
