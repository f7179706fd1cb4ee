package org.example.hybrid.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.Statx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The hot-fd cache: bounded, reused while hot, evicted by CLOCK, every fd accounted for and given back. */
class HotCacheTest {
    @TempDir
    Path dir;

    private static long openFds() throws Exception {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count() - 1;
        }
    }

    private static InodeIdentity identify(HybridProvider p, Path f) throws Exception {
        int fd = Linux.open(f.toString(), Linux.O_PATH | Linux.O_NOFOLLOW, 0);
        try (Statx st = new Statx()) {
            st.ofFd(fd);
            return p.identify(fd, st.mntId(), st.mode());
        }
    }

    private static int use(InodeIdentity id) throws Exception {
        int fd = id.acquirePath();
        id.releasePath(fd);
        return fd;
    }

    @Test
    void hotInodesKeepAnFdUpToTheBoundAndGiveEveryFdBack() throws Exception {
        long before = openFds();
        int root = Linux.open(dir.toString(), Linux.O_PATH | Linux.O_DIRECTORY, 0);
        HybridProvider p = HybridProvider.open(root, 4);
        List<InodeIdentity> ids = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            ids.add(identify(p, Files.writeString(dir.resolve("f" + i), "f" + i)));
        }
        assertEquals("hybrid", ids.get(0).kind());
        assertEquals(0, p.hotFds(), "nothing is hot before it is used");
        // one use: still cold (a fresh fd each time); the second makes it hot
        InodeIdentity a = ids.get(0);
        use(a);
        int hotFd = use(a);
        assertEquals(1, p.hotFds());
        assertEquals(hotFd, use(a), "a hot inode answers with its cached fd");
        for (InodeIdentity id : ids) {
            use(id);
            use(id);
            use(id);
        }
        assertEquals(4, p.hotFds(), "bounded by hot.fds");
        assertEquals(1 + 4, p.heldFds(), "one mount fd plus the hot fds");
        assertEquals(1 + 1 + 4, openFds() - before, "root O_PATH, mount fd, hot fds: nothing else held");
        // while one is in use, the hand passes it by
        int inUse = ids.get(9).acquirePath();
        for (int round = 0; round < 3; round++) {
            for (InodeIdentity id : ids.subList(0, 9)) {
                use(id);
                use(id);
            }
        }
        assertTrue(p.hotFds() <= 4);
        ids.get(9).releasePath(inUse);
        for (InodeIdentity id : ids) {
            id.close();
        }
        assertEquals(0, p.hotFds());
        p.close();
        Linux.close(root);
        assertEquals(before, openFds(), "every fd given back");
    }

    @Test
    void aHotFdIsNeverClosedUnderItsUser() throws Exception {
        int root = Linux.open(dir.toString(), Linux.O_PATH | Linux.O_DIRECTORY, 0);
        HybridProvider p = HybridProvider.open(root, 1);
        InodeIdentity a = identify(p, Files.writeString(dir.resolve("a"), "a"));
        InodeIdentity b = identify(p, Files.writeString(dir.resolve("b"), "b"));
        use(a);
        int held = a.acquirePath(); // a is hot now, and in use
        use(b);
        use(b); // b wants a's place: a is in use, so a keeps it
        try (Statx st = new Statx()) {
            st.ofFd(held); // still a valid fd on a
            assertEquals(Files.getAttribute(dir.resolve("a"), "unix:ino"), st.ino());
        }
        a.releasePath(held);
        use(b);
        int bHot = use(b);
        assertNotEquals(-1, bHot);
        a.close();
        b.close();
        p.close();
        Linux.close(root);
    }
}
