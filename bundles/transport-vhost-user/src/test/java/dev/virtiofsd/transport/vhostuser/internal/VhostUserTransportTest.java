package dev.virtiofsd.transport.vhostuser.internal;

import static org.junit.jupiter.api.Assertions.*;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.transport.DaemonControl;
import dev.virtiofsd.frontend.FuseReply;
import dev.virtiofsd.frontend.VhostUserFrontend;
import dev.virtiofsd.linux.Linux;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class VhostUserTransportTest {
    @TempDir
    Path dir;

    final StubFuseServer server = new StubFuseServer();
    final Control control = new Control();
    VhostUserTransport transport;
    VhostUserFrontend frontend;

    static final class Control implements DaemonControl {
        final CountDownLatch stopped = new CountDownLatch(1);
        volatile int status = -1;
        volatile String reason;
        volatile String ready;

        @Override
        public void stop(int exitStatus, String why) {
            status = exitStatus;
            reason = why;
            stopped.countDown();
        }

        @Override
        public void ready(String what) {
            ready = what;
        }
    }

    Path socket() {
        return dir.resolve("vu.sock");
    }

    VhostUserFrontend start(VhostUserOptions o, VhostUserFrontend.Options fo) throws ErrnoException {
        transport = new VhostUserTransport(server, o, control);
        transport.start();
        frontend = VhostUserFrontend.connect(socket().toString(), fo);
        return frontend;
    }

    VhostUserFrontend start() throws ErrnoException {
        return start(VhostUserOptions.socket(socket().toString()), new VhostUserFrontend.Options());
    }

    @AfterEach
    void tearDown() {
        if (frontend != null) {
            frontend.close();
        }
        if (transport != null) {
            transport.close();
        }
    }

    static byte[] payload(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + 7);
        }
        return b;
    }

    void assertEcho(FuseReply r, byte[] request) {
        assertEquals(0, r.error(), r.toString());
        assertEquals(request.length - 40 + 16, r.headerLength());
        assertEquals(r.headerLength(), r.usedLength(), "used.len must equal out.len");
        byte[] body = new byte[request.length - 40];
        System.arraycopy(request, 40, body, 0, body.length);
        assertArrayEquals(body, r.data());
    }

    @Test
    void negotiatesLikeQemuAndServesRequests() throws Exception {
        VhostUserFrontend f = start();
        assertNotNull(control.ready);
        assertTrue(control.ready.contains(socket().toString()));
        long feat = f.offeredFeatures();
        for (int bit : new int[] {28, 29, 30, 32}) {
            assertTrue((feat & (1L << bit)) != 0, "feature bit " + bit);
        }
        long pf = f.offeredProtocolFeatures();
        for (int bit : new int[] {0, 3, 13, 15}) {
            assertTrue((pf & (1L << bit)) != 0, "protocol feature bit " + bit);
        }
        assertEquals(VhostUserOptions.DEFAULT_MAX_QUEUES, f.queueNum());
        FuseReply init = f.init();
        assertEquals(0, init.error());
        assertEquals(1, server.sessions.size());
        assertTrue(server.sessions.get(0).initialized);
        assertEquals(VhostUserDevice.MAX_WRITE, server.maxWrite);
        byte[] req = f.fuse().write(5, 6, 0, payload(100_000));
        assertEcho(f.request(1, req, 200_000), req);
        assertTrue(Files.exists(Path.of(socket() + ".pid")));
    }

    @Test
    void descriptorsSplitIntoSmallPiecesAndIndirect() throws Exception {
        VhostUserFrontend.Options fo = new VhostUserFrontend.Options();
        fo.descriptorChunk = 7;
        fo.queueSize = 1024;
        fo.slots = 4;
        VhostUserFrontend f = start(VhostUserOptions.socket(socket().toString()), fo);
        byte[] req = f.fuse().write(1, 2, 3, payload(3000));
        assertEcho(f.request(1, req, 3100), req);
        f.close();
        frontend = null;
        transport.close();

        fo.indirect = true;
        fo.descriptorChunk = 100;
        VhostUserFrontend g = start(VhostUserOptions.socket(socket().toString()), fo);
        byte[] req2 = g.fuse().write(1, 2, 3, payload(5000));
        assertEcho(g.request(1, req2, 5100), req2);
    }

    @Test
    void manyInFlightOnSeveralRequestQueues() throws Exception {
        VhostUserFrontend.Options fo = new VhostUserFrontend.Options();
        fo.requestQueues = 3;
        fo.bufferSize = 8192;
        VhostUserFrontend f = start(VhostUserOptions.socket(socket().toString()), fo);
        for (int q = 1; q <= 3; q++) {
            List<Integer> tickets = new ArrayList<>();
            List<byte[]> reqs = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                byte[] r = f.fuse().write(i, q, i, payload(100 + i));
                reqs.add(r);
                tickets.add(f.submit(q, r, 4096));
            }
            for (int i = 0; i < 64; i++) {
                FuseReply r = f.await(q, tickets.get(i), 10_000);
                assertNotNull(r);
                assertEcho(r, reqs.get(i));
            }
        }
    }

    @Test
    void workerPoolServesRequests() throws Exception {
        VhostUserFrontend.Options fo = new VhostUserFrontend.Options();
        fo.requestQueues = 2;
        fo.bufferSize = 8192;
        fo.indirect = true;
        VhostUserFrontend f = start(VhostUserOptions.socket(socket().toString()).threadPoolSize(4), fo);
        for (int round = 0; round < 5; round++) {
            List<Integer> tickets = new ArrayList<>();
            List<byte[]> reqs = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                byte[] r = f.fuse().write(i, round, i, payload(50 + i));
                reqs.add(r);
                tickets.add(f.submit(2, r, 4096));
            }
            for (int i = 0; i < 64; i++) {
                assertEcho(f.await(2, tickets.get(i), 10_000), reqs.get(i));
            }
        }
        // GET_VRING_BASE waits for the pool to finish: the base is everything submitted.
        int[] bases = f.stopRings();
        assertEquals(320, bases[2]);
    }

    @Test
    void hiprioForgetIsReturnedWithLengthZero() throws Exception {
        VhostUserFrontend f = start();
        VhostUserFrontend.Used u = f.forget(42, 1);
        assertEquals(0, u.len());
        assertEquals(1, server.forgets.get());
    }

    @Test
    void rebootKeepsTheSessionWhichHandlesTheNewInit() throws Exception {
        VhostUserFrontend f = start();
        f.init();
        byte[] req = f.fuse().getattr(1);
        f.request(1, req, 200);
        int[] bases = f.reboot(false);
        assertEquals(2, bases[1]);
        assertEquals(0, bases[0]);
        f.init();
        // the transport knows no FUSE: a second INIT goes to the same session, which restarts itself
        assertEquals(1, server.sessions.size());
        assertEquals(2, server.sessions.get(0).inits.get());
        assertFalse(server.sessions.get(0).closed);
        assertEcho(f.request(1, req, 200), req);

        f.reboot(true);
        assertTrue(server.sessions.get(0).closed, "RESET_DEVICE closes the session");
        f.init();
        assertEquals(2, server.sessions.size());
        assertEcho(f.request(1, req, 200), req);
    }

    @Test
    void callFdAndMemoryTableChangeWhileRunning() throws Exception {
        VhostUserFrontend f = start();
        byte[] req = f.fuse().write(1, 1, 1, payload(1000));
        assertEcho(f.request(1, req, 2000), req);
        f.replaceCallFd(1);
        assertEcho(f.request(1, req, 2000), req);
        f.resendMemory();
        assertEcho(f.request(1, req, 2000), req);
        int t = f.submit(1, req, 2000);
        assertEcho(f.await(1, t, 10_000), req);
        assertTrue(f.drainCalls(1) >= 0);
    }

    @Test
    void memoryByAddMemReg() throws Exception {
        VhostUserFrontend.Options fo = new VhostUserFrontend.Options();
        fo.addMemReg = true;
        VhostUserFrontend f = start(VhostUserOptions.socket(socket().toString()), fo);
        byte[] req = f.fuse().write(1, 1, 1, payload(1000));
        assertEcho(f.request(1, req, 2000), req);
    }

    @Test
    void withoutEventIdxOrReplyAck() throws Exception {
        VhostUserFrontend.Options fo = new VhostUserFrontend.Options();
        fo.eventIdx = false;
        fo.replyAck = false;
        VhostUserFrontend f = start(VhostUserOptions.socket(socket().toString()), fo);
        byte[] req = f.fuse().write(1, 1, 1, payload(10));
        for (int i = 0; i < 600; i++) {
            assertEcho(f.request(1, req, 200), req);
        }
    }

    @Test
    void disconnectStopsTheDaemonAndRemovesFiles() throws Exception {
        VhostUserFrontend f = start();
        f.init();
        f.disconnect();
        assertTrue(control.stopped.await(10, TimeUnit.SECONDS));
        assertEquals(0, control.status);
        assertEquals("front end disconnected", control.reason);
        assertFalse(Files.exists(socket()));
        assertFalse(Files.exists(Path.of(socket() + ".pid")));
        assertTrue(server.sessions.get(0).closed);
    }

    @Test
    void secondDaemonOnTheSameSocketIsRefused() throws Exception {
        transport = new VhostUserTransport(server, VhostUserOptions.socket(socket().toString()), control);
        transport.start();
        VhostUserTransport second =
                new VhostUserTransport(server, VhostUserOptions.socket(socket().toString()), new Control());
        ErrnoException e = assertThrows(ErrnoException.class, second::start);
        assertEquals(Errno.EADDRINUSE, e.errno());
        assertTrue(Files.exists(socket()), "the first daemon's socket stays");
    }

    @Test
    void staleSocketFileIsReplaced() throws Exception {
        Files.writeString(socket(), "stale");
        VhostUserFrontend f = start();
        assertEquals(0, f.init().error());
    }

    @Test
    void closeWhileServingStopsCleanly() throws Exception {
        VhostUserFrontend f = start();
        f.init();
        transport.close();
        assertFalse(Files.exists(socket()));
        assertThrows(ErrnoException.class, () -> f.readReply(5000));
    }

    @Test
    void pollingWithoutKickFdAndNoCallFd() throws Exception {
        VhostUserFrontend f = start();
        byte[] req = f.fuse().getattr(1);
        // No kick fd: the back end polls the ring. No call fd: it never signals; we poll the used ring.
        f.message(
                VhostUserFrontend.SET_VRING_KICK,
                java.nio.ByteBuffer.allocate(8)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(1 | 0x100)
                        .array());
        f.message(
                VhostUserFrontend.SET_VRING_CALL,
                java.nio.ByteBuffer.allocate(8)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(1 | 0x100)
                        .array());
        for (int i = 0; i < 20; i++) {
            assertEcho(f.request(1, req, 100), req);
        }
        assertEquals(0, f.drainCalls(1));
    }

    @Test
    void inheritedListeningFdAndSocketGroup() throws Exception {
        int fd = dev.virtiofsd.linux.UnixSocket.listen(socket().toString(), 1);
        transport = new VhostUserTransport(server, new VhostUserOptions(null, fd, "", 0, 4), control);
        transport.start();
        assertTrue(control.ready.contains("inherited fd"));
        frontend = VhostUserFrontend.connect(socket().toString(), new VhostUserFrontend.Options());
        assertEquals(4, frontend.queueNum());
        assertEquals(0, frontend.init().error());
        transport.close();
        transport = null;
        frontend.close();
        frontend = null;

        Path other = dir.resolve("grp.sock");
        transport = new VhostUserTransport(server, new VhostUserOptions(other.toString(), -1, "0", 0, 4), control);
        transport.start();
        assertEquals(0, Files.getAttribute(other, "unix:gid"));
        assertEquals(0770, (int) Files.getAttribute(other, "unix:mode") & 0777, "owner and --socket-group");
    }

    @Test
    void socketIsForItsOwnerOnly() throws Exception {
        transport = new VhostUserTransport(server, VhostUserOptions.socket(socket().toString()), control);
        transport.start();
        // The front end drives the share as root: other users must not reach the socket.
        assertEquals(0700, (int) Files.getAttribute(socket(), "unix:mode") & 0777);
    }

    @Test
    void unknownGroupFailsToStart() throws Exception {
        VhostUserTransport t = new VhostUserTransport(
                server, new VhostUserOptions(socket().toString(), -1, "no-such-group-xyz", 0, 4), control);
        assertThrows(ErrnoException.class, t::start);
        t.close();
        assertFalse(Files.exists(Path.of(socket() + ".pid")));
    }

    @Test
    void sleepingLockDoesNotStallItsQueue() throws Exception {
        for (int pool : new int[] {0, 1}) {
            server.lockRelease = new CountDownLatch(1);
            VhostUserFrontend f = start(
                    VhostUserOptions.socket(socket().toString()).threadPoolSize(pool), new VhostUserFrontend.Options());
            int lock = f.submit(1, f.fuse().setlk(true, 2, 3, 4, 1, 0), 100);
            byte[] req = f.fuse().getattr(1);
            assertEcho(f.request(1, req, 100), req);
            server.lockRelease.countDown();
            FuseReply r = f.await(1, lock, 10_000);
            assertNotNull(r);
            assertEquals(0, r.error());
            f.close();
            frontend = null;
            transport.close();
            transport = null;
        }
    }

    @Test
    void sleepingLocksBeyondTheCapAreRefusedAtOnceAndTheQueueGoesOn() throws Exception {
        for (int pool : new int[] {0, 2}) {
            server.lockRelease = new CountDownLatch(1);
            VhostUserFrontend.Options fo = new VhostUserFrontend.Options();
            fo.queueSize = 1024;
            fo.slots = 1024;
            fo.bufferSize = 4096;
            fo.indirect = true;
            VhostUserFrontend f =
                    start(VhostUserOptions.socket(socket().toString()).threadPoolSize(pool), fo);
            int n = VhostUserDevice.MAX_LOCK_WAITERS + 100;
            List<Integer> tickets = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                tickets.add(f.submit(1, f.fuse().setlk(true, 2, 3, 4 + i, 1, 0), 100));
            }
            int enolck = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (enolck < 100 && System.nanoTime() < deadline) {
                int t = f.awaitAny(1, 1000);
                if (t >= 0) {
                    FuseReply r = f.await(1, t, 0);
                    assertEquals(-Errno.ENOLCK, r.error(), "only the requests beyond the cap are answered now");
                    tickets.remove(Integer.valueOf(t));
                    enolck++;
                }
            }
            assertEquals(100, enolck, "pool " + pool);
            assertEquals(VhostUserDevice.MAX_LOCK_WAITERS, tickets.size());
            byte[] req = f.fuse().getattr(1);
            assertEcho(f.request(1, req, 100), req);
            server.lockRelease.countDown();
            for (int t : tickets) {
                FuseReply r = f.await(1, t, 10_000);
                assertNotNull(r);
                assertEquals(0, r.error());
            }
            f.close();
            frontend = null;
            transport.close();
            transport = null;
        }
    }

    @Test
    void stoppingTheRingWakesASleepingLock() throws Exception {
        VhostUserFrontend f = start();
        int lock = f.submit(1, f.fuse().setlk(true, 2, 3, 4, 1, 0), 100);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.requests.get() == 0) {
            assertTrue(System.nanoTime() < deadline);
            Thread.sleep(5);
        }
        int[] bases = f.stopRings();
        assertEquals(1, bases[1]);
        assertEquals(1, server.interruptedLocks.get());
        FuseReply r = f.await(1, lock, 1000);
        assertNotNull(r);
        assertEquals(-Errno.EINTR, r.error());
    }

    // ---- negative ----------------------------------------------------------------------------

    @Test
    void readableDescriptorOutOfRangeGetsEio() throws Exception {
        VhostUserFrontend f = start();
        long out = f.alloc(64, 16, false);
        f.writeDescriptor(1, 0, 0x7000_0000_0000L, 40, VhostUserFrontend.DESC_F_NEXT, 1);
        f.writeDescriptor(1, 1, out, 64, VhostUserFrontend.DESC_F_WRITE, 0);
        f.publish(1, 0);
        VhostUserFrontend.Used u = f.waitUsed(1, 10_000);
        assertNotNull(u);
        assertEquals(0, u.head());
        assertEquals(16, u.len());
        ByteBuffer h = ByteBuffer.wrap(f.readGuest(out, 16)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(16, h.getInt(0));
        assertEquals(-Errno.EIO, h.getInt(4));
        assertFalse(transport.device().queueBroken(1));
        // A descriptor straddling the end of a region is out of range too.
        long lowEnd = f.alloc(16, 16, false);
        f.writeDescriptor(1, 2, (64L << 20) - 8, 40, VhostUserFrontend.DESC_F_NEXT, 3);
        f.writeDescriptor(1, 3, out, 64, VhostUserFrontend.DESC_F_WRITE, 0);
        f.publish(1, 2);
        u = f.waitUsed(1, 10_000);
        assertNotNull(u);
        assertEquals(16, u.len());
        assertTrue(lowEnd > 0);
        assertEquals(0, server.requests.get());
    }

    @Test
    void writableDescriptorOutOfRangeBreaksOnlyThatQueue() throws Exception {
        VhostUserFrontend.Options fo = new VhostUserFrontend.Options();
        fo.requestQueues = 2;
        VhostUserFrontend f = start(VhostUserOptions.socket(socket().toString()), fo);
        long in = f.alloc(64, 16, false);
        f.writeGuest(in, f.fuse().getattr(1));
        f.writeDescriptor(1, 0, in, 56, VhostUserFrontend.DESC_F_NEXT, 1);
        f.writeDescriptor(1, 1, VhostUserFrontend.HIGH_GPA + (64L << 20) - 4, 64, VhostUserFrontend.DESC_F_WRITE, 0);
        f.publish(1, 0);
        waitBroken(1);
        assertNull(f.waitUsed(1, 300));
        byte[] req = f.fuse().getattr(1);
        assertEcho(f.request(2, req, 100), req);
        assertEquals(0, server.requests.get() - 1);
    }

    @Test
    void descriptorLoopBreaksTheQueueWithoutHanging() throws Exception {
        VhostUserFrontend f = start();
        long in = f.alloc(64, 16, false);
        f.writeGuest(in, f.fuse().getattr(1));
        f.writeDescriptor(1, 0, in, 56, VhostUserFrontend.DESC_F_NEXT, 1);
        f.writeDescriptor(1, 1, in, 8, VhostUserFrontend.DESC_F_NEXT, 0);
        f.publish(1, 0);
        waitBroken(1);
        assertEquals(0, server.requests.get());
        // The message loop still answers, and a ring restart clears the broken state.
        int[] bases = f.reboot(false);
        assertEquals(1, bases[1]);
        assertFalse(transport.device().queueBroken(1));
        byte[] req = f.fuse().getattr(1);
        assertEcho(f.request(1, req, 100), req);
    }

    @Test
    void indirectLoopAndBadIndexBreakTheQueue() throws Exception {
        VhostUserFrontend.Options fo = new VhostUserFrontend.Options();
        fo.indirect = true;
        fo.requestQueues = 2;
        VhostUserFrontend f = start(VhostUserOptions.socket(socket().toString()), fo);
        long table = f.alloc(64, 16, false);
        long in = f.alloc(64, 16, false);
        f.writeIndirectDescriptor(table, 0, in, 40, VhostUserFrontend.DESC_F_NEXT, 1);
        f.writeIndirectDescriptor(table, 1, in, 40, VhostUserFrontend.DESC_F_NEXT, 0);
        f.writeDescriptor(1, 0, table, 32, VhostUserFrontend.DESC_F_INDIRECT, 0);
        f.publish(1, 0);
        waitBroken(1);
        f.writeDescriptor(2, 0, in, 40, VhostUserFrontend.DESC_F_NEXT, 5000);
        f.publish(2, 0);
        waitBroken(2);
        assertEquals(0, server.requests.get());
    }

    @Test
    void availIndexFarAheadBreaksTheQueue() throws Exception {
        VhostUserFrontend f = start();
        f.setAvailIdx(1, 30000);
        waitBroken(1);
    }

    void waitBroken(int q) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!transport.device().queueBroken(q)) {
            assertTrue(System.nanoTime() < deadline, "queue " + q + " not marked broken");
            Thread.sleep(10);
        }
    }

    @Test
    void badMessageSizesGetAnErrorAck() throws Exception {
        VhostUserFrontend f = start();
        f.sendRaw(VhostUserFrontend.SET_VRING_NUM, 1 | 8, 4, new byte[] {1, 0, 0, 0});
        VhostUserFrontend.Reply r = f.readReply(5000);
        assertNotNull(r);
        assertEquals(VhostUserFrontend.SET_VRING_NUM, r.request());
        assertEquals(5, r.flags());
        assertNotEquals(0, r.u64());
        f.sendRaw(99, 1 | 8, 0, new byte[0]);
        r = f.readReply(5000);
        assertEquals(99, r.request());
        assertNotEquals(0, r.u64());
        f.sendRaw(VhostUserFrontend.SET_MEM_TABLE, 1 | 8, 16, new byte[16]);
        assertNotEquals(0, f.readReply(5000).u64());
        // Queue index out of range.
        f.sendRaw(VhostUserFrontend.SET_VRING_ENABLE, 1 | 8, 8, new byte[] {(byte) 200, 0, 0, 0, 1, 0, 0, 0});
        assertNotEquals(0, f.readReply(5000).u64());
        // Still serving.
        byte[] req = f.fuse().getattr(1);
        assertEcho(f.request(1, req, 100), req);
    }

    @Test
    void tagIsAdvertisedInTheConfigSpace() throws Exception {
        VhostUserFrontend f =
                start(VhostUserOptions.socket(socket().toString()).tag("myfs"), new VhostUserFrontend.Options());
        assertTrue((f.offeredProtocolFeatures() & VhostUserFrontend.PF_CONFIG) != 0, "F_CONFIG offered with --tag");
        java.nio.ByteBuffer q = java.nio.ByteBuffer.allocate(12 + 40).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        q.putInt(0, 0).putInt(4, 40).putInt(8, 0);
        f.sendRaw(VhostUserFrontend.GET_CONFIG, 1, q.capacity(), q.array());
        VhostUserFrontend.Reply r = f.readReply(5000);
        assertEquals(VhostUserFrontend.GET_CONFIG, r.request());
        byte[] p = r.payload();
        assertEquals(52, p.length);
        assertEquals("myfs", new String(p, 12, 4, StandardCharsets.US_ASCII));
        for (int i = 16; i < 48; i++) {
            assertEquals(0, p[i], "tag padding");
        }
        assertEquals(VhostUserOptions.DEFAULT_MAX_QUEUES - 1, r.u32(48), "num_request_queues");
        // a slice past the end reads as zeros; the device still serves
        q = java.nio.ByteBuffer.allocate(12 + 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        q.putInt(0, 38).putInt(4, 8).putInt(8, 0);
        f.sendRaw(VhostUserFrontend.GET_CONFIG, 1, q.capacity(), q.array());
        r = f.readReply(5000);
        assertEquals(20, r.payload().length);
        byte[] req = f.fuse().getattr(1);
        assertEcho(f.request(1, req, 100), req);
    }

    @Test
    void noTagNoConfigFeature() throws Exception {
        VhostUserFrontend f = start();
        assertEquals(0, f.offeredProtocolFeatures() & VhostUserFrontend.PF_CONFIG);
    }

    @Test
    void badSizeOnAMessageWithAReplyClosesTheConnection() throws Exception {
        VhostUserFrontend f = start();
        f.sendRaw(VhostUserFrontend.GET_VRING_BASE, 1, 4, new byte[4]);
        ErrnoException e = assertThrows(ErrnoException.class, () -> f.readReply(5000));
        assertEquals(Errno.EPIPE, e.errno());
        assertTrue(control.stopped.await(10, TimeUnit.SECONDS));
    }

    @Test
    void hugePayloadSizeClosesTheConnection() throws Exception {
        VhostUserFrontend f = start();
        f.sendRaw(VhostUserFrontend.SET_FEATURES, 1, 1 << 30, "x".getBytes(StandardCharsets.US_ASCII));
        assertThrows(ErrnoException.class, () -> f.readReply(5000));
        assertTrue(control.stopped.await(10, TimeUnit.SECONDS));
    }

    private static final int SIGPIPE = 13; // the JVM handles it by ignoring it: safe to send

    /**
     * Signals interrupt blocking syscalls with EINTR (JFR sampling and debuggers send them); the
     * queue and connection threads must carry on serving, not die.
     */
    @Test
    void queueAndConnectionThreadsSurviveSignals() throws Exception {
        VhostUserFrontend f = start();
        assertEquals(0, f.init().error());
        byte[] req = f.fuse().write(5, 6, 0, payload(4096));
        assertEcho(f.request(1, req, 8192), req);

        List<Integer> tids = threads("vhost-user");
        assertFalse(tids.isEmpty(), "no vhost-user threads found in /proc/self/task");
        for (int round = 0; round < 20; round++) {
            for (int tid : tids) {
                Linux.signalThread(tid, SIGPIPE);
            }
            Thread.sleep(5);
        }
        assertTimeoutPreemptively(
                Duration.ofSeconds(10),
                () -> {
                    for (int i = 0; i < 10; i++) {
                        assertEcho(f.request(1, req, 8192), req);
                    }
                },
                "a signal stopped the queue thread");
        assertEquals(-1, control.status, "the daemon was asked to stop: " + control.reason);
    }

    /** Native thread ids of this process whose name starts with {@code prefix} (truncated to 15 chars). */
    private static List<Integer> threads(String prefix) throws IOException {
        List<Integer> tids = new ArrayList<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path t : tasks) {
                String comm = Files.readString(t.resolve("comm")).trim();
                if (comm.startsWith(prefix)) {
                    tids.add(Integer.parseInt(t.getFileName().toString()));
                }
            }
        }
        return tids;
    }
}
