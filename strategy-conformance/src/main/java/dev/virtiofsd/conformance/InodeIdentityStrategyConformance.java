package dev.virtiofsd.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.FileHandle;
import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.Statx;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What every {@link InodeIdentityStrategy} must do for the passthrough filesystem to stay correct,
 * as JUnit 5 tests a strategy's own build runs: extend this class and return the strategy from
 * {@link #strategy()}.
 *
 * <pre>
 * class MyStrategyConformanceTest extends InodeIdentityStrategyConformance {
 *     protected InodeIdentityStrategy strategy() { return new MyStrategy(); }
 * }
 * </pre>
 *
 * <p>The rules (DESIGN's inode-identity rules): an identity reaches the inode it was made from; one
 * that does not pin its inode (holds no fd) must carry a file handle, because the store may key it by
 * nothing else; handles are stable and carry the mount id; fds are counted exactly ({@code heldFds})
 * and all given back on close; identities outlive their provider; a special file is never opened; and,
 * the inode-number reuse that the identity rules guard against, on a loop-mounted ext4 that hands a freed inode number to the next new file at
 * once, an unpinned identity of an unlinked file never reaches the new file with its old number.
 *
 * <p>Needs Linux, and root for the loop mount (run as root in CI: without it that test fails when the
 * environment variable CI is set, and is skipped with the reason otherwise).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class InodeIdentityStrategyConformance {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]+");

    /** A fresh instance of the strategy under test (a DS component class: its no-argument constructor). */
    protected abstract InodeIdentityStrategy strategy() throws Exception;

    private Path base;
    private Path share;
    private Path ext4;
    private boolean mounted;
    private String mountProblem;
    private int rootFd = -1;
    private IdentityProvider provider;
    private final List<InodeIdentity> made = new ArrayList<>();

    @BeforeAll
    void mountExt4() throws Exception {
        base = Files.createTempDirectory("strategy-conformance");
        share = Files.createDirectory(base.resolve("share"));
        Path image = base.resolve("ext4.img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(32L << 20);
        }
        ext4 = Files.createDirectory(base.resolve("ext4"));
        try {
            run("mkfs.ext4", "-q", "-F", "-N", "1024", image.toString());
            run("mount", "-o", "loop", image.toString(), ext4.toString());
            mounted = true;
        } catch (IOException e) {
            mountProblem = e.getMessage();
        }
    }

    @AfterAll
    void unmountExt4() throws Exception {
        if (mounted) {
            try {
                run("umount", ext4.toString());
            } catch (IOException e) {
                run("umount", "-l", ext4.toString());
            }
        }
        deleteTree(base);
    }

    @BeforeEach
    void open() throws Exception {
        rootFd = Linux.open(share.toString(), Linux.O_PATH | Linux.O_DIRECTORY, 0);
        provider = strategy().open(rootFd);
        assertNotNull(provider, "open() returns a provider");
    }

    @AfterEach
    void close() {
        for (InodeIdentity i : made) {
            i.close();
        }
        made.clear();
        if (provider != null) {
            provider.close();
        }
        Linux.close(rootFd);
    }

    // ---- helpers -----------------------------------------------------------------------------

    private static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + ": " + out.trim());
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Identifies {@code p} as the passthrough does: an O_PATH|O_NOFOLLOW fd, its mount id and mode. */
    protected InodeIdentity identify(IdentityProvider on, Path p) throws ErrnoException {
        int fd = Linux.open(p.toString(), Linux.O_PATH | Linux.O_NOFOLLOW, 0);
        long mnt;
        int mode;
        try (Statx st = new Statx()) {
            st.ofFd(fd);
            mnt = st.mntId();
            mode = st.mode();
        } catch (ErrnoException | RuntimeException e) {
            Linux.close(fd);
            throw e;
        }
        InodeIdentity id = on.identify(fd, mnt, mode);
        assertNotNull(id, "identify() returns an identity or throws");
        made.add(id);
        return id;
    }

    private static long[] inoAndMount(InodeIdentity id) throws ErrnoException {
        int fd = id.acquirePath();
        try (Statx st = new Statx()) {
            st.ofFd(fd);
            return new long[] {st.ino(), st.mntId()};
        } finally {
            id.releasePath(fd);
        }
    }

    private static long ino(Path p) throws IOException {
        return ((Number) Files.getAttribute(p, "unix:ino", java.nio.file.LinkOption.NOFOLLOW_LINKS)).longValue();
    }

    /**
     * The process's fds that a strategy could hold. The JVM's own come and go on other threads
     * (a class-loading jar, a coverage file, sockets, pipes) and are left out, else a count
     * taken around a strategy call fails at random.
     */
    private static long openFds() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.map(InodeIdentityStrategyConformance::target)
                    .filter(t -> t != null && !isTheJvmsOwn(t))
                    .count();
        }
    }

    private static String target(Path fd) {
        try {
            return Files.readSymbolicLink(fd).toString();
        } catch (IOException closedMeanwhile) {
            return null; // the listing's own fd, or one another thread closed since
        }
    }

    private static boolean isTheJvmsOwn(String target) {
        return target.endsWith(".jar")
                || target.endsWith(".exec")
                || target.startsWith("socket:")
                || target.startsWith("pipe:")
                || target.startsWith("anon_inode:")
                || target.startsWith("/proc/")
                || target.startsWith("/dev/");
    }

    private static String read(int fd) throws IOException {
        return Files.readString(Path.of("/proc/self/fd/" + fd));
    }

    // ---- the rules ---------------------------------------------------------------------------

    @Test
    public void nameIsAPlainWord() throws Exception {
        String n = strategy().name();
        assertNotNull(n);
        assertTrue(NAME.matcher(n).matches(), "name() is letters, digits, '.', '_' and '-': " + n);
    }

    @Test
    public void identityReachesItsInodeAndOpensIt() throws Exception {
        Path f = Files.writeString(share.resolve("f"), "content\n");
        InodeIdentity id = identify(provider, f);
        assertNotNull(id.kind(), "kind()");
        assertEquals(ino(f), inoAndMount(id)[0], "acquirePath() reaches the identified inode");
        int fd = id.open(Linux.O_RDONLY);
        try {
            assertEquals("content\n", read(fd));
        } finally {
            Linux.close(fd);
        }
        Path d = Files.createDirectory(share.resolve("d"));
        InodeIdentity dir = identify(provider, d);
        int dfd = dir.open(Linux.O_RDONLY | Linux.O_DIRECTORY);
        Linux.close(dfd);
        assertEquals(ino(d), inoAndMount(dir)[0]);
    }

    @Test
    public void anIdentityThatPinsNothingCarriesAHandle() throws Exception {
        for (String n : new String[] {"a", "b"}) {
            InodeIdentity id = identify(provider, Files.writeString(share.resolve(n), n));
            if (!id.pinsInode()) {
                assertNotNull(
                        id.handle(),
                        "an identity that does not pin its inode can only be found safely by its file handle"
                                + " (the store never trusts an ids match of an unpinned inode)");
            }
            if (id.handle() == null) {
                assertTrue(id.pinsInode(), "no handle: then it must pin the inode");
                assertTrue(id.heldFds() > 0, "pinning needs an fd");
            }
        }
    }

    @Test
    public void handlesAreStableAndCarryTheMount() throws Exception {
        Path f = Files.writeString(share.resolve("h"), "h");
        InodeIdentity a = identify(provider, f);
        InodeIdentity b = identify(provider, f);
        FileHandle ha = a.handle();
        FileHandle hb = b.handle();
        assertEquals(ha == null, hb == null, "same file, same kind of identity");
        if (ha != null) {
            assertEquals(ha, hb, "the same inode gives the same handle");
            assertEquals(ha.hashCode(), hb.hashCode());
            assertEquals(inoAndMount(a)[1], ha.mountId(), "the handle names the inode's mount");
            InodeIdentity other = identify(provider, Files.writeString(share.resolve("h2"), "h2"));
            assertNotEquals(ha, other.handle(), "another inode, another handle");
        }
    }

    @Test
    public void fdsAreCountedExactlyAndAllGivenBack() throws Exception {
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            files.add(Files.writeString(share.resolve("n" + i), "n" + i));
        }
        long before = openFds();
        int providerBefore = provider.heldFds();
        List<InodeIdentity> ids = new ArrayList<>();
        for (Path p : files) {
            ids.add(identify(provider, p)); // the O_PATH fd passed in is the identity's to keep or close
        }
        long held = 0;
        for (InodeIdentity id : ids) {
            assertTrue(id.heldFds() >= 0);
            held += id.heldFds();
        }
        long extraProvider = (long) provider.heldFds() - providerBefore;
        assertEquals(
                held + extraProvider,
                openFds() - before,
                "heldFds() of the identities plus the provider's growth is what the process holds");
        for (InodeIdentity id : ids) {
            id.close();
            made.remove(id);
        }
        assertEquals(extraProvider, openFds() - before, "closing the identities gives their fds back");
        provider.close();
        provider = null;
        assertTrue(openFds() <= before - providerBefore, "closing the provider gives its fds back");
    }

    @Test
    public void identitiesOutliveTheirProvider() throws Exception {
        Path f = Files.writeString(share.resolve("o"), "outlives\n");
        InodeIdentity id = identify(provider, f);
        provider.close();
        provider = null;
        assertEquals(ino(f), inoAndMount(id)[0], "usable after the provider closed (a strategy switch does that)");
        int fd = id.open(Linux.O_RDONLY);
        try {
            assertEquals("outlives\n", read(fd));
        } finally {
            Linux.close(fd);
        }
    }

    @Test
    public void specialFilesAndSymlinksAreIdentifiedWithoutOpeningThem() throws Exception {
        Path fifo = share.resolve("fifo");
        run("mkfifo", fifo.toString());
        Path link = Files.createSymbolicLink(share.resolve("link"), Path.of("nowhere"));
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try {
            Future<InodeIdentity> f = ex.submit(() -> identify(provider, fifo));
            InodeIdentity id;
            try {
                id = f.get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                fail("identify() of a FIFO blocked: it must never open it");
                return;
            } catch (java.util.concurrent.ExecutionException e) {
                assertTrue(e.getCause() instanceof ErrnoException, "a refusal is an errno: " + e.getCause());
                id = null;
            }
            if (id != null) {
                assertEquals(ino(fifo), inoAndMount(id)[0]);
            }
        } finally {
            ex.shutdownNow();
        }
        InodeIdentity l = identify(provider, link);
        assertEquals(ino(link), inoAndMount(l)[0], "the symlink itself, not its target");
    }

    @Test
    public void concurrentIdentifyIsSafe() throws Exception {
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            files.add(Files.writeString(share.resolve("c" + i), "c" + i));
        }
        ExecutorService ex = Executors.newFixedThreadPool(4);
        try {
            List<Future<long[]>> results = new ArrayList<>();
            for (Path p : files) {
                results.add(ex.submit(() -> {
                    int fd = Linux.open(p.toString(), Linux.O_PATH | Linux.O_NOFOLLOW, 0);
                    long mnt;
                    int mode;
                    try (Statx st = new Statx()) {
                        st.ofFd(fd);
                        mnt = st.mntId();
                        mode = st.mode();
                    }
                    InodeIdentity id = provider.identify(fd, mnt, mode);
                    synchronized (made) {
                        made.add(id);
                    }
                    return new long[] {ino(p), inoAndMount(id)[0]};
                }));
            }
            for (Future<long[]> r : results) {
                long[] v = r.get(60, TimeUnit.SECONDS);
                assertEquals(v[0], v[1], "each identity reaches its own file");
            }
        } finally {
            ex.shutdownNow();
        }
    }

    /**
     * The seed's scenario on a loop-mounted ext4: A is identified, unlinked on the host, and new files
     * are created until one, B, gets A's inode number. An identity that pins A makes that impossible
     * (it holds the inode); one that does not must tell B from A: B's handle differs, and A's identity
     * never reaches B.
     */
    @Test
    public void anUnlinkedInodeNumberReusedByANewFileIsNeverMistakenForIt() throws Exception {
        if (!mounted) {
            String why = "needs root, mkfs.ext4 and a loop mount: " + mountProblem;
            if (System.getenv("CI") != null) {
                fail(why);
            }
            org.junit.jupiter.api.Assumptions.assumeTrue(false, why);
        }
        Path dir = Files.createDirectories(ext4.resolve("reuse-" + System.nanoTime()));
        int extRoot = Linux.open(dir.toString(), Linux.O_PATH | Linux.O_DIRECTORY, 0);
        IdentityProvider p = strategy().open(extRoot);
        try {
            Path a = Files.writeString(dir.resolve("A"), "A: the old file\n");
            long inoA = ino(a);
            InodeIdentity idA = identify(p, a);
            Files.delete(a);
            long inoB = -1;
            Path b = dir.resolve("B");
            for (int attempt = 0; attempt < 20; attempt++) {
                Files.writeString(b, "B: the new file\n");
                inoB = ino(b);
                if (inoB == inoA) {
                    break;
                }
                Files.move(b, dir.resolve("filler-" + attempt));
            }
            if (idA.pinsInode()) {
                assertNotEquals(inoA, inoB, "A's identity pins its inode: ext4 cannot reuse the number");
                assertEquals(inoA, inoAndMount(idA)[0], "and it still reaches A (unlinked)");
                return;
            }
            assertEquals(inoA, inoB, "precondition: ext4 gave B A's inode number (A is not pinned)");
            InodeIdentity idB = identify(p, b);
            assertNotNull(idA.handle(), "unpinned identities carry handles");
            assertNotEquals(idA.handle(), idB.handle(), "B's handle is not A's (the generation differs)");
            try {
                int fd = idA.open(Linux.O_RDONLY);
                try {
                    assertNotEquals("B: the new file\n", read(fd), "A's identity must never reach B");
                } finally {
                    Linux.close(fd);
                }
            } catch (ErrnoException e) {
                assertTrue(
                        e.errno() == Errno.ESTALE || e.errno() == Errno.ENOENT,
                        "A is gone: ESTALE (or ENOENT), got " + e.getMessage());
            }
        } finally {
            p.close();
            Linux.close(extRoot);
        }
    }
}
