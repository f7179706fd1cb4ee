package dev.virtiofsd.strategy.fd.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.Statx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the fd strategy promises beyond the basics: pinning, ownership, once-only close, directories. */
class FdIdentityLifecycleTest {
    @TempDir
    Path dir;

    private int root;
    private IdentityProvider provider;

    @BeforeEach
    void open() throws Exception {
        root = Linux.open(dir.toString(), Linux.O_PATH | Linux.O_DIRECTORY, 0);
        provider = new FdStrategy().open(root);
    }

    @AfterEach
    void close() {
        provider.close();
        Linux.close(root);
    }

    private InodeIdentity identify(String name, int type) throws ErrnoException {
        int fd = Linux.openat(root, name, Linux.O_PATH | Linux.O_NOFOLLOW, 0);
        return provider.identify(fd, 0, type);
    }

    private static String read(int fd) throws ErrnoException {
        long buf = NativeMemory.allocate(64);
        try {
            int n = Linux.pread(fd, buf, 64, 0);
            byte[] b = new byte[n];
            NativeMemory.getBytes(buf, b, 0, n);
            return new String(b, StandardCharsets.UTF_8);
        } finally {
            NativeMemory.free(buf);
        }
    }

    @Test
    void theFdPinsTheInodeThroughUnlinkAndRename() throws Exception {
        Files.writeString(dir.resolve("f"), "pinned");
        InodeIdentity id = identify("f", Linux.S_IFREG);
        long ino;
        try (Statx s = new Statx()) {
            ino = s.ofFd(id.acquirePath()).ino();
            id.releasePath(id.acquirePath());
            Files.move(dir.resolve("f"), dir.resolve("g"));
            assertEquals(ino, s.ofFd(id.acquirePath()).ino(), "renamed: still the same inode");
            Files.delete(dir.resolve("g"));
            // a new file may take the number only once the pinning fd is gone; ours still reads the old one
            Files.writeString(dir.resolve("h"), "newcomer");
            int fd = id.open(Linux.O_RDONLY);
            try {
                assertEquals("pinned", read(fd));
                assertEquals(0, s.ofFd(fd).nlink(), "unlinked, yet open");
            } finally {
                Linux.close(fd);
            }
        } finally {
            id.close();
        }
    }

    @Test
    void opensAreIndependentOfTheIdentity() throws Exception {
        Files.writeString(dir.resolve("f"), "abc");
        InodeIdentity id = identify("f", Linux.S_IFREG);
        int rw = id.open(Linux.O_RDWR);
        assertNotEquals(id.acquirePath(), rw, "a new fd, not the O_PATH one");
        Linux.close(rw);
        // closing what open() returned leaves the identity usable
        int again = id.open(Linux.O_RDONLY | Linux.O_CREAT | Linux.O_NOFOLLOW);
        assertEquals("abc", read(again), "O_CREAT and O_NOFOLLOW do not apply to a reopen");
        assertEquals(Linux.O_RDONLY, Linux.fcntl(again, Linux.F_GETFL, 0) & Linux.O_ACCMODE);
        Linux.close(again);
        id.close();
    }

    @Test
    void closeIsOnceOnlyEvenWhenTheNumberIsReused() throws Exception {
        Files.writeString(dir.resolve("f"), "x");
        InodeIdentity id = identify("f", Linux.S_IFREG);
        int pathFd = id.acquirePath();
        id.close();
        // closed: the number is free, or another JVM thread was quicker and it names something else
        assertFalse(names(pathFd, dir.resolve("f")), "fd " + pathFd + " still names f after close()");
        // someone else gets the same number; a second close must not take it from them
        int other = Linux.open(dir.resolve("f").toString(), Linux.O_RDONLY, 0);
        try {
            id.close();
            assertEquals("x", read(other));
        } finally {
            Linux.close(other);
        }
    }

    @Test
    void aDirectoryIdentityServesAtCallsAndOpensAsADirectory() throws Exception {
        Files.createDirectory(dir.resolve("d"));
        Files.writeString(dir.resolve("d/inner"), "in");
        InodeIdentity id = identify("d", Linux.S_IFDIR);
        try {
            int dfd = id.acquirePath();
            int f = Linux.openat(dfd, "inner", Linux.O_RDONLY, 0);
            assertEquals("in", read(f));
            Linux.close(f);
            id.releasePath(dfd);
            assertEquals(dfd, id.acquirePath(), "the same fd each time: nothing opened per call");
            int listing = id.open(Linux.O_RDONLY | Linux.O_DIRECTORY);
            Linux.close(listing);
            ErrnoException e = assertThrows(ErrnoException.class, () -> id.open(Linux.O_WRONLY));
            assertEquals(Errno.EISDIR, e.errno());
        } finally {
            id.close();
        }
    }

    @Test
    void theProviderIsStatelessAndSharedByEveryShare() throws Exception {
        Files.writeString(dir.resolve("a"), "1");
        Files.writeString(dir.resolve("b"), "2");
        assertEquals(0, provider.heldFds());
        assertSame(provider, new FdStrategy().open(root), "nothing per share to keep");
        InodeIdentity a = identify("a", Linux.S_IFREG);
        InodeIdentity b = identify("b", Linux.S_IFREG);
        assertEquals(2, a.heldFds() + b.heldFds());
        provider.close();
        // identities outlive the provider's close
        int fd = b.open(Linux.O_RDONLY);
        assertEquals("2", read(fd));
        Linux.close(fd);
        assertTrue(a.toString().startsWith("fd["), a.toString());
        a.close();
        b.close();
    }

    /** Whether this process's fd {@code fd} is open on {@code file}. */
    private static boolean names(int fd, java.nio.file.Path file) throws java.io.IOException {
        try {
            return Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/" + fd))
                    .equals(file.toRealPath());
        } catch (java.nio.file.NoSuchFileException e) {
            return false;
        }
    }
}
