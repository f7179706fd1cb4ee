package dev.virtiofsd.strategy.handle.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
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
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
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

    /**
     * This process's fds as "number -> what it names". Compared as sets, not counted: the JVM may
     * close an fd of its own meanwhile (that is no leak), and a leaked fd that reuses its number
     * names something else.
     */
    private static Set<String> openFds() throws IOException {
        Set<String> fds = new TreeSet<>();
        try (DirectoryStream<Path> d = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path fd : d) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (!target.endsWith("/fd")) { // the listing's own directory fd
                        fds.add(fd.getFileName() + " -> " + target);
                    }
                } catch (IOException e) {
                    // closed while listing: not ours
                }
            }
        }
        return fds;
    }

    /** The fds open now that were not open (or named something else) in {@code before}. */
    private static Set<String> newFds(Set<String> before) throws IOException {
        Set<String> now = openFds();
        now.removeAll(before);
        // the test JVM's own meanwhile (class loading, the coverage agent, surefire's channels)
        now.removeIf(fd -> fd.endsWith(".jar")
                || fd.endsWith(".exec")
                || fd.contains(" -> socket:")
                || fd.contains(" -> pipe:")
                || fd.contains(" -> anon_inode:"));
        return now;
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
            Set<String> before = openFds();
            InodeIdentity id = identify(p, file);
            assertEquals(Set.of(), newFds(before), "a handle identity holds no fd (the O_PATH fd was closed)");
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
            assertEquals(Set.of(), newFds(before), "acquirePath/releasePath and open/close leave nothing open");

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
            Set<String> baseline = openFds();
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
            assertEquals(2, newFds(baseline).size(), "the two mount fds: " + newFds(baseline));
            int y = ids[4].open(Linux.O_RDONLY);
            assertEquals("y", read(y), "read through the tmpfs mount fd");
            Linux.close(y);
            ids[3].close();
            assertEquals(2, p.heldFds(), "y still uses the tmpfs mount fd");
            ids[4].close();
            assertEquals(1, p.heldFds(), "the tmpfs mount fd went with the last inode on that mount");
            assertEquals(1, newFds(baseline).size(), "the shared directory's mount fd: " + newFds(baseline));

            p.close();
            // identities stay usable after the provider closes; the mount fds go with the last of them
            int fd = ids[0].open(Linux.O_RDONLY);
            assertEquals("f", read(fd));
            Linux.close(fd);
            for (int i = 0; i < 3; i++) {
                ids[i].close();
            }
            assertEquals(
                    Set.of(), newFds(baseline), "every mount fd closed once the provider and its identities closed");
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
            Set<String> before = openFds();
            for (String f : new String[] {"/proc/self/status", "/proc/self/limits", "/proc/self/status"}) {
                ErrnoException e = assertThrows(ErrnoException.class, () -> identify(p, Path.of(f)));
                assertEquals(Errno.EOPNOTSUPP, e.errno());
            }
            assertEquals(Set.of(), newFds(before), "the given O_PATH fds are closed on refusal");
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
            assertTrue(
                    warnings().get(0).contains("first inode seen on it is a character device"),
                    warnings().get(0));
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
        Set<String> before = openFds();
        IllegalStateException e =
                assertThrows(IllegalStateException.class, () -> HandleIdentityProvider.open(rootFd, true, false));
        assertTrue(
                e.getMessage().startsWith("--inode-file-handles=mandatory needs CAP_DAC_READ_SEARCH"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertEquals(Set.of(), newFds(before));
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

    private static String readVia(InodeIdentity id) throws ErrnoException {
        int fd = id.open(Linux.O_RDONLY);
        try {
            return read(fd);
        } finally {
            Linux.close(fd);
        }
    }

    /**
     * One thread's scratch block serves every handle: a tmpfs handle (12 bytes) and one of the share
     * (8 on ext4) take turns, each use and each name_to_handle_at writing over what the other left.
     * A size or type left over from the previous handle would make the kernel decode the wrong
     * handle (a tmpfs handle read with 8 bytes is ESTALE).
     */
    @Test
    void handlesOfDifferentSizesTakeTurnsInOneThreadsScratch() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("tmpfs"));
        run("mount", "-t", "tmpfs", "-o", "size=1m", "vfsd-test", sub.toString());
        try (HandleIdentityProvider p = (HandleIdentityProvider) prefer()) {
            assertTrue(p.handlesEnabled());
            InodeIdentity onShare = identify(p, Files.writeString(dir.resolve("s"), "on the share"));
            InodeIdentity onTmpfs = identify(p, Files.writeString(sub.resolve("t"), "on tmpfs"));
            assertEquals("handle", onShare.kind());
            assertEquals("handle", onTmpfs.kind());
            assertEquals(12, onTmpfs.handle().length(), "tmpfs: generation and a 64-bit inode number");
            System.out.printf(
                    "handle sizes on one thread: share %d bytes type %d, tmpfs %d bytes type %d%n",
                    onShare.handle().length(),
                    onShare.handle().type(),
                    onTmpfs.handle().length(),
                    onTmpfs.handle().type());
            for (int round = 0; round < 2; round++) {
                assertEquals("on the share", readVia(onShare));
                assertEquals("on tmpfs", readVia(onTmpfs));
                assertEquals("on the share", readVia(onShare));
                InodeIdentity t = identify(p, sub.resolve("t"));
                assertEquals(onTmpfs.handle(), t.handle());
                t.close();
                InodeIdentity sh = identify(p, dir.resolve("s"));
                assertEquals(onShare.handle(), sh.handle());
                sh.close();
            }
            onShare.close();
            onTmpfs.close();
        } finally {
            runStatus("umount", "-l", sub.toString());
        }
    }

    @Test
    void aMountIsDescribedByItsTypeAndMountPoint() throws Exception {
        int fd = Linux.open("/proc/self/status", Linux.O_PATH, 0);
        try {
            sx.ofFd(fd);
            assertEquals("mount " + sx.mntId() + " (proc on /proc)", HandleIdentityProvider.describeMount(sx.mntId()));
        } finally {
            Linux.close(fd);
        }
        assertEquals("mount 999999999", HandleIdentityProvider.describeMount(999_999_999L), "unknown: the id alone");
    }

    @Test
    void theLastReleaseClosesTheMountFdAndUnlistsItForGood() throws Exception {
        java.util.concurrent.ConcurrentHashMap<Long, MountFd> map = new java.util.concurrent.ConcurrentHashMap<>();
        int fd = Linux.open(dir.toString(), Linux.O_RDONLY | Linux.O_DIRECTORY, 0);
        MountFd m = new MountFd(77, fd, map);
        map.put(77L, m);
        assertTrue(m.tryRetain());
        m.release();
        assertEquals(dir.toString(), fdTarget(fd), "still open: one reference left");
        assertSame(m, map.get(77L));
        m.release();
        assertNull(map.get(77L), "unlisted with its last reference");
        assertNotEquals(dir.toString(), fdTarget(fd), "closed (the number is free or another file's)");
        assertFalse(m.tryRetain(), "a closed mount fd cannot come back (its number may be reused)");
        IllegalStateException over = assertThrows(IllegalStateException.class, m::release);
        assertEquals("over-release of mount 77 fd " + fd, over.getMessage());
    }

    private static String fdTarget(int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        } catch (IOException e) {
            return "(closed)";
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
