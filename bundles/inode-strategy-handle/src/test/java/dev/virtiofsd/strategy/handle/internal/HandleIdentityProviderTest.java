package dev.virtiofsd.strategy.handle.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.Statx;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** Real syscalls on a temporary directory (ext4 here), /dev/shm (tmpfs), /proc and /dev; no FUSE. */
class HandleIdentityProviderTest {
    @TempDir
    Path dir;

    private int rootFd = -1;
    private final Statx sx = new Statx();
    private ListAppender<ILoggingEvent> log;
    private Logger logger;

    @BeforeEach
    void setUp() throws Exception {
        rootFd = Linux.open(dir.toString(), Linux.O_PATH | Linux.O_DIRECTORY, 0);
        logger = (Logger) LoggerFactory.getLogger(HandleIdentityProvider.class);
        log = new ListAppender<>();
        log.start();
        logger.addAppender(log);
        logger.setLevel(Level.DEBUG);
        logger.setAdditive(false); // captured, not printed
    }

    @AfterEach
    void tearDown() {
        logger.detachAppender(log);
        logger.setAdditive(true);
        logger.setLevel(null);
        Linux.close(rootFd);
        sx.close();
    }

    private IdentityProvider prefer() throws ErrnoException {
        return new HandlePreferredStrategy().open(rootFd);
    }

    private IdentityProvider mandatory() throws ErrnoException {
        return new HandleOnlyStrategy().open(rootFd);
    }

    /** Looks {@code path} up the way the passthrough does: O_PATH|O_NOFOLLOW fd, statx, identify. */
    private InodeIdentity identify(IdentityProvider p, Path path) throws ErrnoException {
        int fd = Linux.open(path.toString(), Linux.O_PATH | Linux.O_NOFOLLOW, 0);
        try {
            sx.ofFd(fd);
        } catch (ErrnoException e) {
            Linux.close(fd);
            throw e;
        }
        return p.identify(fd, sx.mntId(), sx.mode());
    }

    private static String read(int fd) throws ErrnoException {
        long buf = NativeMemory.allocate(4096);
        try {
            int n = Linux.pread(fd, buf, 4096, 0);
            byte[] b = new byte[n];
            NativeMemory.getBytes(buf, b, 0, n);
            return new String(b, StandardCharsets.UTF_8);
        } finally {
            NativeMemory.free(buf);
        }
    }

    private static long openFds() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    private List<String> warnings() {
        return log.list.stream()
                .filter(e -> e.getLevel() == Level.WARN)
                .map(ILoggingEvent::getFormattedMessage)
                .collect(Collectors.toList());
    }

    @Test
    void strategiesAreNamedByTheirServiceProperty() {
        assertEquals("handle-preferred", new HandlePreferredStrategy().name());
        assertEquals("handle-only", new HandleOnlyStrategy().name());
        assertEquals("inode.identity", InodeIdentityStrategy.PROPERTY);
    }

    @Test
    void handleRoundTripReopensTheSameFileWithoutHoldingAnFd() throws Exception {
        Path file = Files.writeString(dir.resolve("a"), "hello handle");
        long ino = (Long) Files.getAttribute(file, "unix:ino");
        try (IdentityProvider p = mandatory()) {
            long before = openFds();
            InodeIdentity id = identify(p, file);
            assertEquals(before, openFds(), "a handle identity holds no fd (the O_PATH fd was closed)");
            assertEquals("handle", id.kind());
            assertNotNull(id.handle());
            assertFalse(id.pinsInode());
            assertEquals(0, id.heldFds());
            assertTrue(id.handle().length() > 0 && id.handle().length() <= Linux.MAX_HANDLE_SZ);

            int path = id.acquirePath();
            try {
                sx.ofFd(path);
                assertEquals(ino, sx.ino());
                assertEquals(Linux.O_PATH, Linux.fcntl(path, Linux.F_GETFL, 0) & Linux.O_PATH);
            } finally {
                id.releasePath(path);
            }
            int fd = id.open(Linux.O_RDONLY);
            try {
                assertEquals("hello handle", read(fd));
            } finally {
                Linux.close(fd);
            }
            assertEquals(before, openFds(), "acquirePath/releasePath and open/close leave nothing open");

            // the same inode gives an equal handle (the store's handle-map key)
            InodeIdentity again = identify(p, file);
            assertEquals(id.handle(), again.handle());
            assertEquals(id.handle().hashCode(), again.handle().hashCode());
            again.close();
            id.close();
        }
    }

    @Test
    void handleOfUnlinkedFileIsStaleAndDiffersFromItsSuccessor() throws Exception {
        Path file = Files.writeString(dir.resolve("old"), "old");
        try (IdentityProvider p = prefer()) {
            InodeIdentity old = identify(p, file);
            assertEquals("handle", old.kind());
            Files.delete(file);
            ErrnoException e = assertThrows(ErrnoException.class, old::acquirePath);
            assertEquals(Errno.ESTALE, e.errno());
            e = assertThrows(ErrnoException.class, () -> old.open(Linux.O_RDONLY));
            assertEquals(Errno.ESTALE, e.errno());
            Path successor = Files.writeString(dir.resolve("new"), "new");
            InodeIdentity fresh = identify(p, successor);
            assertNotEquals(old.handle(), fresh.handle());
            fresh.close();
            old.close();
        }
    }

    @Test
    void directoriesAndSymlinksGetHandlesToo() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("sub"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), Path.of("sub"));
        try (IdentityProvider p = mandatory()) {
            InodeIdentity d = identify(p, sub);
            InodeIdentity l = identify(p, link);
            assertEquals("handle", d.kind());
            assertEquals("handle", l.kind());
            int fd = l.acquirePath();
            try {
                sx.ofFd(fd);
                assertEquals(Linux.S_IFLNK, sx.mode() & Linux.S_IFMT, "O_PATH reopen of a symlink is the link");
            } finally {
                l.releasePath(fd);
            }
            fd = d.open(Linux.O_RDONLY | Linux.O_DIRECTORY);
            Linux.close(fd);
            d.close();
            l.close();
        }
    }

    @Test
    void oneMountFdPerMountIsReused() throws Exception {
        Path shm = Files.createTempDirectory(Path.of("/dev/shm"), "handle-test");
        try {
            Files.writeString(shm.resolve("x"), "x");
            Files.writeString(shm.resolve("y"), "y");
            long baseline = openFds();
            HandleIdentityProvider p = (HandleIdentityProvider) prefer();
            assertEquals(1, p.heldFds(), "the shared directory's mount fd, opened by the start-up probe");
            InodeIdentity[] ids = new InodeIdentity[5];
            for (int i = 0; i < 3; i++) {
                ids[i] = identify(p, Files.writeString(dir.resolve("f" + i), "f"));
                assertEquals("handle", ids[i].kind());
            }
            assertEquals(1, p.heldFds(), "files on the root's mount reuse its mount fd");
            ids[3] = identify(p, shm.resolve("x"));
            ids[4] = identify(p, shm.resolve("y"));
            assertEquals("handle", ids[3].kind());
            assertEquals(2, p.heldFds(), "a second mount (tmpfs /dev/shm) gets exactly one more mount fd");
            assertEquals(2, p.mountIds().size());
            assertEquals(baseline + 2, openFds());
            int y = ids[4].open(Linux.O_RDONLY);
            assertEquals("y", read(y), "read through the tmpfs mount fd");
            Linux.close(y);
            ids[3].close();
            assertEquals(2, p.heldFds(), "y still uses the tmpfs mount fd");
            ids[4].close();
            assertEquals(1, p.heldFds(), "the tmpfs mount fd went with the last inode on that mount");
            assertEquals(baseline + 1, openFds());

            p.close();
            // identities stay usable after the provider closes; the mount fds go with the last of them
            int fd = ids[0].open(Linux.O_RDONLY);
            assertEquals("f", read(fd));
            Linux.close(fd);
            for (int i = 0; i < 3; i++) {
                ids[i].close();
            }
            assertEquals(baseline, openFds(), "every mount fd closed once the provider and its identities closed");
        } finally {
            try (Stream<Path> s = Files.list(shm)) {
                for (Path f : s.collect(Collectors.toList())) {
                    Files.delete(f);
                }
            }
            Files.delete(shm);
        }
    }

    @Test
    void filesystemWithoutExportOpsFallsBackUnderPrefer() throws Exception {
        Path proc = Path.of("/proc/self/status");
        try (IdentityProvider p = prefer()) {
            InodeIdentity a = identify(p, proc);
            InodeIdentity b = identify(p, Path.of("/proc/self/limits"));
            assertEquals("fd", a.kind());
            assertNull(a.handle());
            assertTrue(a.pinsInode());
            assertEquals(1, a.heldFds());
            int fd = a.open(Linux.O_RDONLY);
            try {
                assertTrue(read(fd).contains("Name:"));
            } finally {
                Linux.close(fd);
            }
            assertEquals(a.acquirePath(), a.acquirePath(), "the fallback keeps its own O_PATH fd");
            a.close();
            b.close();
            assertTrue(warnings().isEmpty(), "prefer does not warn per mount: " + warnings());
        }
    }

    @Test
    void filesystemWithoutExportOpsFailsUnderMandatoryAndLogsOncePerMount() throws Exception {
        try (IdentityProvider p = mandatory()) {
            long before = openFds();
            for (String f : new String[] {"/proc/self/status", "/proc/self/limits", "/proc/self/status"}) {
                ErrnoException e = assertThrows(ErrnoException.class, () -> identify(p, Path.of(f)));
                assertEquals(Errno.EOPNOTSUPP, e.errno());
            }
            assertEquals(before, openFds(), "the given O_PATH fds are closed on refusal");
            List<String> w = warnings();
            assertEquals(1, w.size(), "one line per mount: " + w);
            assertTrue(w.get(0).contains("mandatory") && w.get(0).contains("proc"), w.get(0));
            // a second mount without handles gets its own single line (sysfs)
            assertThrows(ErrnoException.class, () -> identify(p, Path.of("/sys/kernel")));
            assertThrows(ErrnoException.class, () -> identify(p, Path.of("/sys/kernel")));
            assertEquals(2, warnings().size(), warnings().toString());
            // files with handles are unaffected
            InodeIdentity ok = identify(p, Files.writeString(dir.resolve("ok"), "ok"));
            assertEquals("handle", ok.kind());
            ok.close();
        }
    }

    @Test
    void specialFileOnAMountWithoutMountFdFallsBackOrFails() throws Exception {
        // /dev is its own mount (devtmpfs, which has handles); /dev/null cannot be opened to serve as
        // that mount's fd, so no mount fd can be had from it.
        Path dev = Path.of("/dev/null");
        try (IdentityProvider p = prefer()) {
            InodeIdentity id = identify(p, dev);
            assertEquals("fd", id.kind());
            assertEquals(1, p.heldFds(), "no mount fd was opened for /dev");
            id.close();
        }
        try (IdentityProvider p = mandatory()) {
            ErrnoException e = assertThrows(ErrnoException.class, () -> identify(p, dev));
            assertEquals(Errno.EOPNOTSUPP, e.errno());
            assertThrows(ErrnoException.class, () -> identify(p, Path.of("/dev/zero")));
            assertEquals(1, warnings().size(), warnings().toString());
            // once a directory on that mount was seen, its mount fd serves the special files too
            InodeIdentity d = identify(p, Path.of("/dev"));
            InodeIdentity n = identify(p, dev);
            assertEquals("handle", n.kind());
            d.close();
            n.close();
        }
    }

    @Test
    void otherErrnosGoToTheCaller() throws Exception {
        try (IdentityProvider p = prefer()) {
            ErrnoException e = assertThrows(ErrnoException.class, () -> p.identify(-1, 1, Linux.S_IFREG));
            assertEquals(Errno.EBADF, e.errno());
        }
    }

    @Test
    void withoutCapabilityPreferRunsFdOnlyWithOneWarning() throws Exception {
        try (HandleIdentityProvider p = HandleIdentityProvider.open(rootFd, false, false)) {
            assertFalse(p.handlesEnabled());
            assertEquals(0, p.heldFds());
            for (int i = 0; i < 3; i++) {
                InodeIdentity id = identify(p, Files.writeString(dir.resolve("n" + i), "n"));
                assertEquals("fd", id.kind());
                id.close();
            }
            List<String> w = warnings();
            assertEquals(1, w.size(), w.toString());
            assertTrue(w.get(0).contains("CAP_DAC_READ_SEARCH"), w.get(0));
        }
    }

    @Test
    void withoutCapabilityMandatoryRefusesToStartWithOneClearLine() throws Exception {
        long before = openFds();
        IllegalStateException e =
                assertThrows(IllegalStateException.class, () -> HandleIdentityProvider.open(rootFd, true, false));
        assertTrue(
                e.getMessage().startsWith("--inode-file-handles=mandatory needs CAP_DAC_READ_SEARCH"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertEquals(before, openFds());
    }

    @Test
    void mandatoryRefusesAShareOnAFilesystemWithoutHandles() throws Exception {
        int procRoot = Linux.open("/proc/self", Linux.O_PATH | Linux.O_DIRECTORY, 0);
        try {
            IllegalStateException e =
                    assertThrows(IllegalStateException.class, () -> new HandleOnlyStrategy().open(procRoot));
            assertTrue(e.getMessage().contains("no file handles"), e.getMessage());
            try (IdentityProvider p = new HandlePreferredStrategy().open(procRoot)) {
                assertEquals(0, p.heldFds());
            }
        } finally {
            Linux.close(procRoot);
        }
    }

    @Test
    @SuppressWarnings("try") // closes the provider early on purpose, inside its try-with-resources
    void closingAnIdentityTwiceDoesNotCloseTheSharedMountFd() throws Exception {
        try (HandleIdentityProvider p = (HandleIdentityProvider) mandatory()) {
            InodeIdentity a = identify(p, Files.writeString(dir.resolve("a"), "a"));
            InodeIdentity b = identify(p, Files.writeString(dir.resolve("b"), "b"));
            p.close(); // identities now hold the last references to the mount fd
            a.close();
            a.close();
            int fd = b.open(Linux.O_RDONLY);
            try {
                assertEquals("b", read(fd), "b's mount fd is still open");
            } finally {
                Linux.close(fd);
            }
            b.close();
        }
    }

    @Test
    void handleBytesSurviveTheScratchBuffer() throws Exception {
        Path file = Files.writeString(dir.resolve("h"), "h");
        int fd = Linux.open(file.toString(), Linux.O_PATH, 0);
        try {
            sx.ofFd(fd);
            var h1 = HandleIdentityProvider.makeHandle(fd, sx.mntId());
            var h2 = HandleIdentityProvider.makeHandle(fd, sx.mntId());
            assertArrayEquals(h1.bytes(), h2.bytes());
            assertEquals(sx.mntId(), h1.mountId());
        } finally {
            Linux.close(fd);
        }
    }

    @Test
    void aHostSubmountCanBeUnmountedOnceItsLastInodeIsGone() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("sub"));
        run("mount", "-t", "tmpfs", "-o", "size=1m", "vfsd-test", sub.toString());
        boolean mounted = true;
        try (HandleIdentityProvider p = (HandleIdentityProvider) prefer()) {
            InodeIdentity a = identify(p, Files.writeString(sub.resolve("a"), "a"));
            InodeIdentity b = identify(p, Files.writeString(sub.resolve("b"), "b"));
            assertEquals("handle", a.kind());
            assertEquals(2, p.heldFds(), "the shared directory's and the submount's");
            a.close();
            assertNotEquals(0, runStatus("umount", sub.toString()), "busy while an inode on it is held");
            b.close();
            assertEquals(1, p.heldFds());
            assertEquals(0, runStatus("umount", sub.toString()), "the daemon no longer keeps the submount busy");
            mounted = false;
        } finally {
            if (mounted) {
                runStatus("umount", "-l", sub.toString());
            }
        }
    }

    @Test
    void aMountWithoutHandlesIsRememberedAndTheMountIdAlsoComesFromFdinfo() throws Exception {
        try (HandleIdentityProvider p = (HandleIdentityProvider) prefer()) {
            InodeIdentity a = identify(p, Path.of("/proc/self/status"));
            assertEquals("fd", a.kind());
            int fd = a.acquirePath();
            sx.ofFd(fd);
            assertTrue(p.mountsWithoutHandles().contains(sx.mntId()), "not asked again on that mount");
            assertEquals(sx.mntId(), Linux.fdinfoMountId(fd), "fdinfo's mnt_id is statx's");
            a.close();
        }
    }

    private static int runStatus(String... cmd) throws Exception {
        Process pr = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        pr.getInputStream().readAllBytes();
        return pr.waitFor();
    }

    private static void run(String... cmd) throws Exception {
        assertEquals(0, runStatus(cmd), String.join(" ", cmd));
    }
}
