package dev.virtiofsd.transport.fusedev.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.fs.SegmentList;
import dev.virtiofsd.api.transport.FuseServer;
import dev.virtiofsd.api.transport.FuseSession;
import dev.virtiofsd.api.transport.FuseWorker;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mounts through the real /dev/fuse with a tiny fake FUSE server (INIT, GETATTR, LOOKUP, OPENDIR,
 * READDIR, RELEASEDIR), so the transport is tested without the real dispatcher and filesystem.
 */
class FuseDevTransportTest {
    @TempDir
    Path dir;

    @Test
    void mountsServesRequestsAndUnmountsOnClose() throws Exception {
        FakeServer server = new FakeServer();
        FuseDevTransport t = new FuseDevTransport(server, dir, 2);
        t.start();
        try {
            assertTrue(isMounted(dir), "mounted after start()");
            assertTrue(Files.isDirectory(dir));
            assertEquals(
                    "rwxr-x---",
                    PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)),
                    "mode from the fake's GETATTR, not the underlying directory's");
            assertFalse(Files.exists(dir.resolve("missing")));
            assertTrue(server.requests.get() >= 3, "INIT + GETATTR + LOOKUP at least");
        } finally {
            t.close();
        }
        assertFalse(isMounted(dir), "unmounted by close()");
        assertTrue(server.sessionClosed.get(), "session closed");
        t.close(); // idempotent
    }

    @Test
    void externalUnmountEndsReadersAndRunsListener() throws Exception {
        FakeServer server = new FakeServer();
        CountDownLatch unmounted = new CountDownLatch(1);
        FuseDevTransport t = new FuseDevTransport(server, dir, 3).onUnmounted(unmounted::countDown);
        t.start();
        try {
            assertTrue(Files.isDirectory(dir));
            Linux.umount2(dir.toString(), 0);
            assertTrue(unmounted.await(5, TimeUnit.SECONDS), "listener ran after umount from outside");
        } finally {
            t.close();
        }
        assertFalse(isMounted(dir));
    }

    @Test
    void closeAbortsConnectionWhileAFileInTheMountStaysOpen() throws Exception {
        FakeServer server = new FakeServer();
        FuseDevTransport t = new FuseDevTransport(server, dir, 2);
        t.start();
        DirectoryStream<Path> open = Files.newDirectoryStream(dir);
        try {
            long start = System.nanoTime();
            t.close();
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertFalse(isMounted(dir));
            assertTrue(millis < 8000, "close() returned after " + millis + " ms");
            assertTrue(server.sessionClosed.get());
        } finally {
            try {
                open.close();
            } catch (IOException ignored) {
                // the connection is gone
            }
        }
    }

    @Test
    void startFailsCleanlyOnMissingMountpoint() {
        FuseDevTransport t = new FuseDevTransport(new FakeServer(), dir.resolve("nope"), 1);
        try {
            t.start();
            throw new AssertionError("start() on a missing mountpoint must fail");
        } catch (dev.virtiofsd.api.ErrnoException expected) {
            assertEquals(dev.virtiofsd.api.Errno.ENOTDIR, expected.errno());
        } finally {
            t.close();
        }
    }

    @Test
    void rejectsNoReaderThreadsAndASecondStart() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> new FuseDevTransport(new FakeServer(), dir, 0));
        FuseDevTransport t = new FuseDevTransport(new FakeServer(), dir, 1);
        t.start();
        try {
            assertThrows(IllegalStateException.class, t::start, "a second start() must not mount twice");
            assertTrue(isMounted(dir));
        } finally {
            t.close();
        }
        assertFalse(isMounted(dir));
        assertThrows(IllegalStateException.class, t::start, "a closed transport does not start again");
    }

    @Test
    void aReplyTheKernelRefusesDoesNotEndTheReader() throws Exception {
        // LOOKUP answered with a wrong unique: the kernel refuses the write (EINVAL) and the
        // request stays pending; the reader must go on serving, so a later GETATTR still works.
        FakeServer server = new FakeServer();
        server.corruptLookupUnique.set(true);
        FuseDevTransport t = new FuseDevTransport(server, dir, 2);
        t.start();
        Thread lookup = new Thread(() -> Files.exists(dir.resolve("missing")), "stuck-lookup");
        lookup.setDaemon(true);
        try {
            lookup.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.refusedLookups.get() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertTrue(server.refusedLookups.get() > 0, "the fake answered the LOOKUP with a wrong unique");
            assertEquals(
                    "rwxr-x---",
                    PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)),
                    "the readers still serve after a refused reply");
        } finally {
            t.close();
        }
        lookup.join(TimeUnit.SECONDS.toMillis(10));
        assertFalse(lookup.isAlive(), "the pending LOOKUP ended with the connection");
        assertFalse(isMounted(dir));
    }

    @Test
    void aWorkerThatThrowsEndsTheMountAndRunsTheListener() throws Exception {
        // A bug in the dispatcher must not leave a mount whose readers are gone: the last reader
        // to die reports the mount lost, as an unmount from outside would.
        FakeServer server = new FakeServer();
        server.throwOnLookup.set(true);
        CountDownLatch lost = new CountDownLatch(1);
        FuseDevTransport t = new FuseDevTransport(server, dir, 1).onUnmounted(lost::countDown);
        t.start();
        Thread lookup = new Thread(() -> Files.exists(dir.resolve("missing")), "doomed-lookup");
        lookup.setDaemon(true);
        try {
            lookup.start();
            assertTrue(lost.await(10, TimeUnit.SECONDS), "listener ran after the only reader died");
        } finally {
            t.close();
        }
        lookup.join(TimeUnit.SECONDS.toMillis(10));
        assertFalse(lookup.isAlive(), "the LOOKUP the dead reader took ended with the connection");
        assertFalse(isMounted(dir));
        assertTrue(server.sessionClosed.get());
    }

    static boolean isMounted(Path mp) throws IOException {
        String target = " " + mp.toAbsolutePath() + " ";
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .anyMatch(l -> l.contains(target) && l.contains(" fuse"));
    }

    /** Answers just enough of the FUSE protocol for stat, lookup and opendir of the root. */
    static final class FakeServer implements FuseServer {
        final AtomicInteger requests = new AtomicInteger();
        final AtomicBoolean sessionClosed = new AtomicBoolean();
        final AtomicBoolean corruptLookupUnique = new AtomicBoolean();
        final AtomicBoolean throwOnLookup = new AtomicBoolean();
        final AtomicInteger refusedLookups = new AtomicInteger();

        @Override
        public FuseSession openSession(int maxWrite) {
            return new FuseSession() {
                @Override
                public FuseWorker newWorker() {
                    return new FuseWorker() {
                        @Override
                        public int handle(SegmentList in, SegmentList out) {
                            return FakeServer.this.handle(in, out);
                        }

                        @Override
                        public boolean mayBlock(SegmentList in) {
                            return false;
                        }

                        @Override
                        public int replyError(SegmentList in, SegmentList out, int errno) {
                            return 0; // the transport under test never asks
                        }
                    };
                }

                @Override
                public boolean initialized() {
                    return true;
                }

                @Override
                public void close() {
                    sessionClosed.set(true);
                }
            };
        }

        int handle(SegmentList in, SegmentList out) {
            requests.incrementAndGet();
            long a = in.address(0);
            int opcode = NativeMemory.getInt(a + 4);
            long unique = NativeMemory.getLong(a + 8);
            long o = out.address(0);
            NativeMemory.fill(o, 256, (byte) 0);
            int body;
            int error = 0;
            switch (opcode) {
                case 26: // INIT
                    NativeMemory.putInt(o + 16, 7);
                    NativeMemory.putInt(o + 20, 31);
                    NativeMemory.putInt(o + 24, NativeMemory.getInt(a + 40 + 8)); // max_readahead
                    NativeMemory.putInt(o + 36, 1 << 20); // max_write
                    NativeMemory.putInt(o + 40, 1); // time_gran
                    body = 64;
                    break;
                case 3: // GETATTR: root directory, 0750
                    NativeMemory.putLong(o + 16 + 16, 1); // ino
                    NativeMemory.putInt(o + 16 + 16 + 60, 040750); // mode
                    NativeMemory.putInt(o + 16 + 16 + 64, 2); // nlink
                    body = 104;
                    break;
                case 27: // OPENDIR
                    body = 16;
                    break;
                case 28: // READDIR: empty
                case 29: // RELEASEDIR
                    body = 0;
                    break;
                case 1: // LOOKUP
                    if (throwOnLookup.get()) {
                        throw new IllegalStateException("a dispatcher bug (test)");
                    }
                    if (corruptLookupUnique.get()) {
                        refusedLookups.incrementAndGet();
                        unique ^= 0x5a5a_0000_0000L; // no request has this unique
                    }
                    error = -2;
                    body = 0;
                    break;
                case 2: // FORGET
                case 42: // BATCH_FORGET
                case 36: // INTERRUPT
                    return 0;
                default:
                    error = -38;
                    body = 0;
            }
            NativeMemory.putInt(o, 16 + body);
            NativeMemory.putInt(o + 4, error);
            NativeMemory.putLong(o + 8, unique);
            return 16 + body;
        }
    }
}
