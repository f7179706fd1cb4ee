package dev.virtiofsd.passthrough.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.fs.AttrOut;
import dev.virtiofsd.api.fs.EntryOut;
import dev.virtiofsd.api.fs.FileLock;
import dev.virtiofsd.api.fs.OpenOut;
import dev.virtiofsd.api.fs.RequestContext;
import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.strategy.fd.internal.FdStrategy;
import dev.virtiofsd.strategy.handle.internal.HandlePreferredStrategy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live strategy changes on one filesystem, as DS drives them (bind, select, unbind): new inodes get
 * the new strategy, known inodes keep theirs and stay usable, node ids never change, a departing
 * strategy's inodes are converted while its code still runs, and its provider closes once unused.
 */
class StrategySwitchTest {
    @TempDir
    Path dir;

    private PassthroughFileSystem fs;
    private final RequestContext ctx = new RequestContext().set(1, 0, 0, 1);
    private final List<Long> allocations = new ArrayList<>();
    private final InodeIdentityStrategy fd = new FdStrategy();
    private final CountingStrategy handles = new CountingStrategy(new HandlePreferredStrategy());

    @BeforeEach
    void setUp() throws Exception {
        for (int i = 0; i < 6; i++) {
            Files.writeString(dir.resolve("f" + i), "content " + i + "\n");
        }
        fs = new PassthroughFileSystem(PassthroughOptions.of(dir), fd);
        fs.bindStrategy(handles, Map.of(InodeIdentityStrategy.PROPERTY, "handle-preferred"));
    }

    @AfterEach
    void tearDown() {
        fs.close();
        allocations.forEach(NativeMemory::free);
    }

    private long name(String s) {
        long a = NativeMemory.allocate(s.getBytes(StandardCharsets.UTF_8).length + 1);
        NativeMemory.putString(a, s);
        allocations.add(a);
        return a;
    }

    private long lookup(String n) throws Exception {
        EntryOut e = new EntryOut();
        fs.lookup(ctx, 1, name(n), e);
        return e.nodeId;
    }

    private String read(long node) throws Exception {
        OpenOut o = new OpenOut();
        fs.open(ctx, node, Linux.O_RDONLY, o);
        long buf = NativeMemory.allocate(64);
        allocations.add(buf);
        int n = fs.read(
                ctx, node, o.fh, 0, 64, new PassthroughFileSystemTest.Segments(new long[] {buf}, new int[] {64}));
        fs.release(ctx, node, o.fh, 0, 0, false);
        byte[] b = new byte[n];
        NativeMemory.getBytes(buf, b, 0, n);
        return new String(b, StandardCharsets.UTF_8);
    }

    private String kind(long node) {
        return fs.store().get(node).identity.kind();
    }

    @Test
    void newInodesGetTheNewStrategyAndOldOnesKeepTheirs() throws Exception {
        long a = lookup("f0");
        long b = lookup("f1");
        assertEquals("fd", kind(a));
        fs.select("handle-preferred");
        assertEquals("handle-preferred", fs.strategy());
        long c = lookup("f2");
        assertEquals("handle", kind(c));
        assertEquals("fd", kind(a), "a known inode keeps its identity");
        assertEquals(a, lookup("f0"), "same node id for a known file after the switch");
        assertEquals("content 0\n", read(a));
        assertEquals("content 1\n", read(b));
        assertEquals("content 2\n", read(c));
        Map<String, Long> kinds = fs.inodesByKind();
        assertEquals(3L, kinds.get("fd"), "root, f0, f1");
        assertEquals(1L, kinds.get("handle"));
        assertEquals(Map.of("fd", 3L, "handle-preferred", 1L), fs.inodesByStrategy());
        AttrOut attr = new AttrOut();
        fs.getattr(ctx, a, -1, attr);
        assertEquals(Files.getAttribute(dir.resolve("f0"), "unix:ino"), attr.attr.ino);
    }

    @Test
    void backToFdFindsInodesKnownByHandleUnderTheSameNodeId() throws Exception {
        fs.select("handle-preferred");
        long h = lookup("f3");
        assertEquals("handle", kind(h));
        fs.select("fd");
        assertEquals(h, lookup("f3"), "an fd lookup of a file known by handle finds that inode (handle opened)");
        long fresh = lookup("f4");
        assertEquals("fd", kind(fresh));
    }

    @Test
    void anUnlinkedFileKnownByHandleIsNotFoundByItsOldIdsAfterSwitchingToFd() throws Exception {
        fs.select("handle-preferred");
        long h = lookup("f5");
        Files.delete(dir.resolve("f5"));
        Files.writeString(dir.resolve("g5"), "new file, maybe the old inode number\n");
        fs.select("fd");
        long g = lookup("g5");
        assertTrue(g != h, "a new file never takes the node id of a dead one");
        assertEquals("new file, maybe the old inode number\n", read(g));
    }

    @Test
    void convertingFdInodesShedsTheirFdsAndKeepsNodeIds() throws Exception {
        long[] nodes = new long[4];
        for (int i = 0; i < 4; i++) {
            nodes[i] = lookup("f" + i);
        }
        long fdsBefore = fs.inodeFds();
        assertEquals(0, fs.convertFdInodes(10), "the current strategy (fd) sheds no fds");
        fs.select("handle-preferred");
        long n = fs.convertFdInodes(Long.MAX_VALUE);
        assertEquals(5, n, "four files and the root");
        for (int i = 0; i < 4; i++) {
            assertEquals("handle", kind(nodes[i]));
            assertEquals("content " + i + "\n", read(nodes[i]));
            assertEquals(nodes[i], lookup("f" + i));
        }
        assertTrue(fs.inodeFds() < fdsBefore, fs.inodeFds() + " fds, before " + fdsBefore);
        assertEquals(Map.of("handle", 5L), fs.inodesByKind());
        assertFalse(fs.inodesByStrategy().containsKey("fd"));
    }

    @Test
    void aStrategyThatGoesAwayHasItsInodesConvertedAndComesBack() throws Exception {
        fs.select("handle-preferred");
        long h = lookup("f0");
        assertEquals("handle", kind(h));
        // its bundle stops: DS unbinds the service
        fs.unbindStrategy(handles, Map.of(InodeIdentityStrategy.PROPERTY, "handle-preferred"));
        assertEquals(OwnFdIdentity.STRATEGY, fs.strategy(), "new inodes get the filesystem's own fds");
        assertEquals("fd", kind(h), "converted while the strategy's code still ran");
        assertEquals(h, lookup("f0"));
        assertEquals("content 0\n", read(h));
        assertEquals(1, handles.closed.get(), "its provider closed: none of its inodes are left");
        long during = lookup("f1");
        assertEquals(OwnFdIdentity.STRATEGY, fs.store().get(during).slot.name);
        // the updated bundle registers the strategy again: the configured name, so new inodes get it
        CountingStrategy updated = new CountingStrategy(new HandlePreferredStrategy());
        fs.bindStrategy(updated, Map.of(InodeIdentityStrategy.PROPERTY, "handle-preferred"));
        assertEquals("handle-preferred", fs.strategy());
        assertEquals("handle", kind(lookup("f2")));
        assertEquals("content 1\n", read(during));
    }

    @Test
    void anInodeALookupMakesInsideTheDepartingStrategyIsConvertedToo() throws Exception {
        fs.select("handle-preferred");
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch proceed = new CountDownLatch(1);
        handles.insideIdentify = () -> {
            inside.countDown();
            try {
                proceed.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            Future<Long> looked = threads.submit(() -> lookup("f3"));
            assertTrue(inside.await(10, TimeUnit.SECONDS), "the lookup is inside the strategy's identify");
            handles.insideIdentify = null;
            Thread[] unbinder = new Thread[1];
            Future<?> unbound = threads.submit(() -> {
                unbinder[0] = Thread.currentThread();
                fs.unbindStrategy(handles, Map.of(InodeIdentityStrategy.PROPERTY, "handle-preferred"));
            });
            // Let the lookup go on only once the unbind has either returned (the old race: its snapshot
            // missed the inode still being made) or is waiting for the lookup.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!unbound.isDone() && System.nanoTime() < deadline) {
                Thread t = unbinder[0];
                if (t != null && t.getState() == Thread.State.TIMED_WAITING) {
                    break;
                }
                Thread.sleep(1);
            }
            proceed.countDown();
            long node = looked.get(10, TimeUnit.SECONDS);
            unbound.get(10, TimeUnit.SECONDS);
            assertEquals(
                    "fd",
                    kind(node),
                    "the inode made inside the departing strategy was converted (else it keeps code of a dropped"
                            + " class loader)");
            assertEquals("content 3\n", read(node));
            assertEquals(Map.of("fd", 2L), fs.inodesByKind(), "the root and f3, none left by handle");
            assertEquals(1, handles.closed.get(), "its provider closed: none of its inodes are left");
        } finally {
            proceed.countDown();
            threads.shutdownNow();
        }
    }

    @Test
    void theOldProviderClosesWhenItsLastInodeIsForgotten() throws Exception {
        fs.select("handle-preferred");
        long h = lookup("f0");
        fs.select("fd");
        assertEquals(0, handles.closed.get(), "still used by one inode");
        fs.forget(h, 1);
        assertEquals(1, handles.closed.get());
    }

    @Test
    void unknownStrategyIsRefusedAndNothingChanges() throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fs.select("acme"));
        assertTrue(e.getMessage().contains("available: fd, handle-preferred"), e.getMessage());
        assertEquals("fd", fs.strategy());
        assertNotNull(fs.store().get(lookup("f0")));
    }

    // ---- conversion under the ownership model: nothing a request or an open file uses is closed ----

    private static String fdTarget(int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        } catch (java.io.IOException e) {
            return "closed";
        }
    }

    @Test
    void conversionNeverClosesTheFdOfARequestInFlight() throws Exception {
        long a = lookup("f0");
        // a request on another queue holds the inode (as InodeUse does) and uses its O_PATH fd
        Inode inFlight = fs.store().acquire(a);
        int pathFd = inFlight.identity.acquirePath();
        String target = fdTarget(pathFd);
        assertTrue(target.endsWith("/f0"), target);
        fs.select("handle-preferred");
        assertEquals(2, fs.convertFdInodes(Long.MAX_VALUE), "the root and f0");
        assertEquals("handle", kind(a), "the node id reaches the new identity at once");
        assertEquals(target, fdTarget(pathFd), "the request's fd is still open, on the same file");
        assertEquals("content 0\n", read(a));
        inFlight.identity.releasePath(pathFd);
        inFlight.release(); // the request ends: the old identity and its fd go with its last user
        assertEquals(0, inFlight.refs());
        assertFalse(fdTarget(pathFd).endsWith("/f0"), "closed once unused");
    }

    @Test
    void anOpenFileAndItsPosixLocksSurviveAConversion() throws Exception {
        long a = lookup("f1");
        OpenOut o = new OpenOut();
        fs.open(ctx, a, Linux.O_RDWR, o);
        FileLock wr = new FileLock();
        wr.type = FileLock.F_WRLCK;
        wr.start = 0;
        wr.end = Long.MAX_VALUE;
        fs.setlk(ctx, a, o.fh, 11, wr, false, false);
        fs.select("handle-preferred");
        assertEquals(2, fs.convertFdInodes(Long.MAX_VALUE), "an inode with locks and an open file converts too");
        assertEquals("handle", kind(a));
        // the lock is still held: another owner sees it, through the new inode
        FileLock probe = new FileLock();
        probe.type = FileLock.F_WRLCK;
        probe.start = 0;
        probe.end = Long.MAX_VALUE;
        fs.getlk(ctx, a, o.fh, 12, probe);
        assertEquals(FileLock.F_WRLCK, probe.type, "owner 11's lock survived the conversion");
        // owner 11 extends its own lock after the conversion: same lock fd, so no conflict with itself
        FileLock more = new FileLock();
        more.type = FileLock.F_WRLCK;
        more.start = 0;
        more.end = 10;
        fs.setlk(ctx, a, o.fh, 11, more, false, false);
        // the open file made before the conversion still reads, and RELEASE drops owner 11's locks
        long buf = NativeMemory.allocate(64);
        allocations.add(buf);
        assertEquals(
                10,
                fs.read(ctx, a, o.fh, 0, 64, new PassthroughFileSystemTest.Segments(new long[] {buf}, new int[] {64})));
        fs.release(ctx, a, o.fh, 0, 11, false);
        FileLock after = new FileLock();
        after.type = FileLock.F_WRLCK;
        after.start = 0;
        after.end = Long.MAX_VALUE;
        fs.getlk(ctx, a, -1, 12, after);
        assertEquals(FileLock.F_UNLCK, after.type, "the locks went with the open file");
    }

    @Test
    void aForgetAfterAConversionForgetsTheNewInode() throws Exception {
        long a = lookup("f2");
        fs.select("handle-preferred");
        assertEquals(2, fs.convertFdInodes(Long.MAX_VALUE));
        fs.forget(a, 1);
        assertEquals(null, fs.store().get(a), "the converted inode is gone with its last lookup");
        assertEquals(Map.of("handle", 1L), fs.inodesByKind(), "the root only");
    }

    /** Counts provider closes of a real strategy. */
    static final class CountingStrategy implements InodeIdentityStrategy {
        final InodeIdentityStrategy real;
        final AtomicInteger closed = new AtomicInteger();
        /** Run inside identify, before the real one (a lookup caught in the middle); null: none. */
        volatile Runnable insideIdentify;

        CountingStrategy(InodeIdentityStrategy real) {
            this.real = real;
        }

        @Override
        public String name() {
            return real.name();
        }

        @Override
        public IdentityProvider open(int rootFd) throws dev.virtiofsd.api.ErrnoException {
            IdentityProvider p = real.open(rootFd);
            return new IdentityProvider() {
                @Override
                public InodeIdentity identify(int pathFd, long mountId, int mode)
                        throws dev.virtiofsd.api.ErrnoException {
                    Runnable hook = insideIdentify;
                    if (hook != null) {
                        hook.run();
                    }
                    return p.identify(pathFd, mountId, mode);
                }

                @Override
                public int heldFds() {
                    return p.heldFds();
                }

                @Override
                public void close() {
                    closed.incrementAndGet();
                    p.close();
                }
            };
        }
    }
}
