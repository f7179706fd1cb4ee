package dev.virtiofsd.passthrough.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.linux.Linux;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OwnedFdTest {
    @TempDir
    Path dir;

    private int openFile() throws Exception {
        Path f = dir.resolve("f");
        if (!Files.exists(f)) {
            Files.writeString(f, "x");
        }
        return Linux.open(f.toString(), Linux.O_RDONLY, 0);
    }

    /** Whether fd {@code fd} still names the test file (another thread may have taken a freed number). */
    private boolean names(int fd) throws IOException {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd))
                    .equals(dir.resolve("f").toRealPath());
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    @Test
    void anFdNotHandedOverIsClosedWithTheScope() throws Exception {
        int fd;
        try (OwnedFd o = OwnedFd.empty()) {
            fd = o.own(openFile());
            assertEquals(fd, o.fd());
            assertTrue(names(fd));
        }
        assertFalse(names(fd), "the scope closed what it owned");
    }

    @Test
    void anFdNotHandedOverIsClosedWhenTheRequestFails() throws Exception {
        int[] seen = {-1};
        assertThrows(IllegalArgumentException.class, () -> {
            try (OwnedFd o = OwnedFd.empty()) {
                seen[0] = o.own(openFile());
                throw new IllegalArgumentException("the lookup after the open failed");
            }
        });
        assertFalse(names(seen[0]));
    }

    @Test
    void aHandedOverFdStaysOpenForItsNewOwner() throws Exception {
        int fd;
        try (OwnedFd o = OwnedFd.empty()) {
            o.own(openFile());
            fd = o.handOver();
            assertEquals(-1, o.fd());
        }
        try {
            assertTrue(names(fd), "handed over: the scope must not close it");
        } finally {
            Linux.close(fd);
        }
    }

    @Test
    void theThreadsScopeIsReusedAndDoesNotNest() throws Exception {
        OwnedFd first;
        try (OwnedFd o = OwnedFd.empty()) {
            first = o;
            assertThrows(IllegalStateException.class, OwnedFd::empty, "one owned fd per request");
        }
        try (OwnedFd o = OwnedFd.empty()) {
            assertSame(first, o, "no allocation per request");
            assertEquals(-1, o.fd(), "a fresh scope owns nothing");
        }
    }
}
