package dev.virtiofsd.it.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.transport.DaemonControl;
import dev.virtiofsd.frontend.Fuse;
import dev.virtiofsd.frontend.FuseReply;
import dev.virtiofsd.frontend.VhostUserFrontend;
import dev.virtiofsd.fuse.internal.FuseServerImpl;
import dev.virtiofsd.passthrough.internal.PassthroughFileSystem;
import dev.virtiofsd.passthrough.internal.PassthroughOptions;
import dev.virtiofsd.strategy.fd.internal.FdStrategy;
import dev.virtiofsd.transport.vhostuser.internal.VhostUserOptions;
import dev.virtiofsd.transport.vhostuser.internal.VhostUserTransport;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The vhost-user transport with the real FUSE dispatcher and passthrough filesystem, driven by the test front end. */
@Timeout(60)
class VhostUserPassthroughTest {
    static final int O_RDONLY = 0;
    static final int O_RDWR = 2;
    static final int O_CREAT = 0100;
    static final int FUSE_DO_READDIRPLUS = 1 << 13;

    @TempDir
    Path tmp;

    Path shared;
    PassthroughFileSystem fs;
    VhostUserTransport transport;
    VhostUserFrontend f;
    final Control control = new Control();

    static final class Control implements DaemonControl {
        final CountDownLatch stopped = new CountDownLatch(1);
        volatile int status = -1;
        volatile String reason;

        @Override
        public void stop(int exitStatus, String why) {
            status = exitStatus;
            reason = why;
            stopped.countDown();
        }

        @Override
        public void ready(String what) {}
    }

    VhostUserFrontend start(int poolSize, VhostUserFrontend.Options fo) throws Exception {
        shared = Files.createDirectory(tmp.resolve("shared"));
        fs = new PassthroughFileSystem(PassthroughOptions.of(shared), new FdStrategy());
        String sock = tmp.resolve("vfs.sock").toString();
        transport = new VhostUserTransport(
                new FuseServerImpl(fs), VhostUserOptions.socket(sock).threadPoolSize(poolSize), control);
        transport.start();
        f = VhostUserFrontend.connect(sock, fo);
        return f;
    }

    VhostUserFrontend start() throws Exception {
        return start(0, new VhostUserFrontend.Options());
    }

    @AfterEach
    void tearDown() {
        if (f != null) {
            f.close();
        }
        if (transport != null) {
            transport.close();
        }
        if (fs != null) {
            fs.close();
        }
    }

    static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 131 + seed);
        }
        return b;
    }

    void initOk() throws Exception {
        FuseReply init = f.init(FUSE_DO_READDIRPLUS);
        assertEquals(0, init.error(), "INIT");
        ByteBuffer b = init.body();
        assertEquals(7, b.getInt(0));
        assertTrue(b.getInt(4) >= 31 && b.getInt(4) <= 37, "minor " + b.getInt(4));
        assertEquals(16 + 64, init.usedLength(), "full 64-byte fuse_init_out");
        assertTrue(b.getInt(20) > 0 && b.getInt(20) <= (1 << 20), "max_write " + b.getInt(20));
    }

    @Test
    void fileRoundTrip() throws Exception {
        start();
        Files.write(tmp.resolve("shared/hello.txt"), "hello, guest".getBytes(StandardCharsets.UTF_8));
        initOk();
        FuseReply e = f.lookup(Fuse.ROOT, "hello.txt");
        assertEquals(0, e.error());
        long node = e.nodeId();
        assertEquals(0, f.getattr(node).error());
        FuseReply o = f.open(node, O_RDONLY);
        assertEquals(0, o.error());
        FuseReply r = f.read(node, o.fh(), 0, 4096);
        assertEquals(0, r.error());
        assertEquals("hello, guest", new String(r.data(), StandardCharsets.UTF_8));
        assertEquals(r.headerLength(), r.usedLength());
        assertEquals(0, f.release(node, o.fh()).error());

        FuseReply c = f.create(Fuse.ROOT, "new.bin", 0100644, O_RDWR | O_CREAT);
        assertEquals(0, c.error(), "CREATE");
        byte[] data = pattern(200_000, 3);
        FuseReply w = f.write(c.nodeId(), c.createFh(), 0, data);
        assertEquals(0, w.error());
        assertEquals(data.length, w.body().getInt(0));
        assertEquals(0, f.release(c.nodeId(), c.createFh()).error());
        assertArrayEquals(data, Files.readAllBytes(shared.resolve("new.bin")));

        assertEquals(0, f.unlink(Fuse.ROOT, "new.bin").error());
        assertFalse(Files.exists(shared.resolve("new.bin")));
        assertEquals(-Errno.ENOENT, f.lookup(Fuse.ROOT, "new.bin").error());
        // FORGET on hiprio comes back with used length 0.
        assertEquals(0, f.forget(node, 1).len());
        assertEquals(0, f.forget(c.nodeId(), 1).len());
        assertEquals(0, f.getattr(Fuse.ROOT).error());
    }

    @Test
    void largeReadAcrossManySmallDescriptors() throws Exception {
        VhostUserFrontend.Options fo = new VhostUserFrontend.Options();
        fo.descriptorChunk = 4096 - 24;
        fo.queueSize = 1024;
        fo.slots = 8;
        start(0, fo);
        byte[] data = pattern(256 << 10, 9);
        Files.write(tmp.resolve("shared/big"), data);
        initOk();
        long node = f.lookup(Fuse.ROOT, "big").nodeId();
        long fh = f.open(node, O_RDONLY).fh();
        FuseReply r = f.read(node, fh, 0, data.length);
        assertEquals(0, r.error());
        assertArrayEquals(data, r.data());
        FuseReply r2 = f.read(node, fh, 1000, 5000);
        byte[] expect = new byte[5000];
        System.arraycopy(data, 1000, expect, 0, 5000);
        assertArrayEquals(expect, r2.data());
    }

    @Test
    void readdirplusListsTheDirectory() throws Exception {
        start();
        for (String n : new String[] {"a", "bb", "ccc"}) {
            Files.writeString(tmp.resolve("shared").resolve(n), n);
        }
        initOk();
        FuseReply od = f.opendir(Fuse.ROOT);
        assertEquals(0, od.error());
        FuseReply rd = f.readdirplus(Fuse.ROOT, od.fh(), 0, 8192);
        assertEquals(0, rd.error());
        Set<String> names = new HashSet<>();
        ByteBuffer b = rd.body();
        while (b.remaining() >= 128 + 24) {
            int p = b.position();
            int namelen = b.getInt(p + 128 + 16);
            byte[] name = new byte[namelen];
            b.position(p + 128 + 24);
            b.get(name);
            names.add(new String(name, StandardCharsets.UTF_8));
            b.position(p + 128 + ((24 + namelen + 7) & ~7));
        }
        assertTrue(names.containsAll(Set.of("a", "bb", "ccc")), names.toString());
    }

    @Test
    void severalRequestQueuesAndAWorkerPool() throws Exception {
        VhostUserFrontend.Options fo = new VhostUserFrontend.Options();
        fo.requestQueues = 3;
        fo.bufferSize = 16 << 10;
        start(4, fo);
        byte[] data = pattern(8192, 1);
        Files.write(tmp.resolve("shared/f"), data);
        initOk();
        long node = f.lookup(Fuse.ROOT, "f").nodeId();
        long fh = f.open(node, O_RDONLY).fh();
        for (int q = 1; q <= 3; q++) {
            List<Integer> tickets = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                tickets.add(f.submit(q, f.fuse().read(node, fh, i * 64L, 4096), 16 + 4096));
            }
            for (int i = 0; i < 64; i++) {
                FuseReply r = f.await(q, tickets.get(i), 10_000);
                assertNotNull(r);
                assertEquals(0, r.error());
                byte[] expect = new byte[4096];
                System.arraycopy(data, i * 64, expect, 0, 4096);
                assertArrayEquals(expect, r.data(), "queue " + q + " request " + i);
            }
        }
    }

    @Test
    void contendedFlockOnOneQueueDoesNotDeadlock() throws Exception {
        start();
        Files.writeString(tmp.resolve("shared/lockme"), "x");
        initOk();
        long node = f.lookup(Fuse.ROOT, "lockme").nodeId();
        long fh1 = f.open(node, O_RDWR).fh();
        long fh2 = f.open(node, O_RDWR).fh();
        assertEquals(
                0,
                f.request(1, f.fuse().setlk(false, node, fh1, 1, Fuse.F_WRLCK, Fuse.LK_FLOCK), 16)
                        .error());
        // The waiter sleeps in the daemon; the unlock comes behind it on the same ring.
        int waiter = f.submit(1, f.fuse().setlk(true, node, fh2, 2, Fuse.F_WRLCK, Fuse.LK_FLOCK), 16);
        assertNull(f.await(1, waiter, 300), "the second lock must wait");
        assertEquals(
                0,
                f.request(1, f.fuse().setlk(false, node, fh1, 1, Fuse.F_UNLCK, Fuse.LK_FLOCK), 16)
                        .error());
        FuseReply r = f.await(1, waiter, 10_000);
        assertNotNull(r, "the waiter got the lock after the unlock");
        assertEquals(0, r.error());
    }

    @Test
    void wrongInHeaderLengthGetsAnErrorNotACrash() throws Exception {
        start();
        initOk();
        byte[] req = f.fuse().getattr(Fuse.ROOT);
        ByteBuffer.wrap(req).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 4000);
        FuseReply r = f.request(1, req, 200);
        assertTrue(r.usedLength() == 0 || r.error() < 0, r.toString());
        byte[] shortReq = new byte[20];
        FuseReply r2 = f.request(1, shortReq, 200);
        assertTrue(r2.usedLength() == 0 || r2.error() < 0, r2.toString());
        assertEquals(0, f.getattr(Fuse.ROOT).error(), "still serving");
        assertFalse(transport.device().queueBroken(1));
    }

    @Test
    void outOfRangeDescriptorGetsEio() throws Exception {
        start();
        initOk();
        long out = f.alloc(64, 16, false);
        f.writeDescriptor(1, 0, 0x7000_0000_0000L, 40, VhostUserFrontend.DESC_F_NEXT, 1);
        f.writeDescriptor(1, 1, out, 64, VhostUserFrontend.DESC_F_WRITE, 0);
        f.publish(1, 0);
        VhostUserFrontend.Used u = f.waitUsed(1, 10_000);
        assertNotNull(u);
        assertEquals(16, u.len());
        assertEquals(
                -Errno.EIO,
                ByteBuffer.wrap(f.readGuest(out, 16))
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .getInt(4));
    }

    @Test
    void rebootRemountsWithANewSession() throws Exception {
        start();
        Files.writeString(tmp.resolve("shared/x"), "x");
        initOk();
        assertEquals(0, f.lookup(Fuse.ROOT, "x").error());
        f.reboot(false);
        initOk();
        FuseReply e = f.lookup(Fuse.ROOT, "x");
        assertEquals(0, e.error());
        assertEquals(0, f.getattr(e.nodeId()).error());
        f.reboot(true);
        initOk();
        assertEquals(0, f.lookup(Fuse.ROOT, "x").error());
    }

    @Test
    void disconnectStopsTheDaemon() throws Exception {
        start();
        initOk();
        f.disconnect();
        assertTrue(control.stopped.await(10, TimeUnit.SECONDS));
        assertEquals(0, control.status);
        assertEquals("front end disconnected", control.reason);
    }
}
