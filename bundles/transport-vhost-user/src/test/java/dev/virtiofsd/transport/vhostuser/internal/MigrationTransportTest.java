package dev.virtiofsd.transport.vhostuser.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.transport.DaemonControl;
import dev.virtiofsd.api.transport.FuseServer;
import dev.virtiofsd.api.transport.FuseSession;
import dev.virtiofsd.api.transport.FuseStateTransfer;
import dev.virtiofsd.frontend.VhostUserFrontend;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The vhost-user side of live migration, driven by the Java front end as QEMU drives it: the dirty
 * log (LOG_ALL + SET_LOG_BASE) marks what the daemon writes while on and nothing while off, and
 * SET_DEVICE_STATE_FD/CHECK_DEVICE_STATE move a state bigger than a pipe buffer both ways.
 */
@Timeout(60)
class MigrationTransportTest {
    static final int SET_LOG_BASE = 6;
    static final int SET_DEVICE_STATE_FD = 42;
    static final int CHECK_DEVICE_STATE = 43;
    static final long F_LOG_ALL = 1L << 26;

    @TempDir
    Path dir;

    VhostUserTransport transport;
    VhostUserFrontend frontend;
    final MigratingServer server = new MigratingServer();

    /** A FUSE server that can move its sessions: the state is a fixed blob (bigger than a pipe). */
    static final class MigratingServer implements FuseServer, FuseStateTransfer {
        final StubFuseServer inner = new StubFuseServer();
        final byte[] state = new byte[300_000];
        volatile byte[] loaded;

        MigratingServer() {
            for (int i = 0; i < state.length; i++) {
                state[i] = (byte) (i * 31 + 7);
            }
        }

        @Override
        public FuseSession openSession(int maxWrite) {
            return inner.openSession(maxWrite);
        }

        @Override
        public void save(FuseSession session, OutputStream out) throws IOException {
            out.write(state);
        }

        @Override
        public FuseSession load(int maxWrite, InputStream in) throws IOException {
            loaded = in.readAllBytes();
            if (loaded.length > 0 && loaded[0] == 'X') {
                throw new IOException("refused by the test");
            }
            return inner.openSession(maxWrite);
        }
    }

    VhostUserFrontend start(FuseServer s) throws ErrnoException {
        transport = new VhostUserTransport(
                s, VhostUserOptions.socket(dir.resolve("vu.sock").toString()), new DaemonControl() {
                    @Override
                    public void stop(int status, String why) {}

                    @Override
                    public void ready(String what) {}
                });
        transport.start();
        frontend = VhostUserFrontend.connect(dir.resolve("vu.sock").toString());
        return frontend;
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

    private static byte[] le64(long... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) {
            b.putLong(x);
        }
        return b.array();
    }

    private static byte[] le32(int a, int b) {
        return ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putInt(a)
                .putInt(b)
                .array();
    }

    private VhostUserFrontend.Reply call(int request, byte[] payload, int... fds) throws ErrnoException {
        frontend.sendRaw(request, VhostUserFrontend.FLAG_VERSION, payload.length, payload, fds);
        VhostUserFrontend.Reply r = frontend.readReply(10_000);
        assertNotNull(r, "reply to " + request);
        assertEquals(request, r.request());
        assertEquals(VhostUserFrontend.FLAG_VERSION | VhostUserFrontend.FLAG_REPLY, r.flags());
        return r;
    }

    private static int setBits(int memfd, int size) throws ErrnoException {
        long buf = NativeMemory.allocate(size);
        try {
            Linux.pread(memfd, buf, size, 0);
            int n = 0;
            for (int i = 0; i < size; i += 8) {
                n += Long.bitCount(NativeMemory.getLong(buf + i));
            }
            return n;
        } finally {
            NativeMemory.free(buf);
        }
    }

    @Test
    void offersWhatQemuNeedsToMigrate() throws Exception {
        VhostUserFrontend f = start(server);
        assertNotEquals(0, f.offeredFeatures() & F_LOG_ALL, "VHOST_F_LOG_ALL");
        assertNotEquals(0, f.offeredProtocolFeatures() & (1L << 1), "LOG_SHMFD");
        assertNotEquals(0, f.offeredProtocolFeatures() & (1L << 19), "DEVICE_STATE");
        tearDown();
        frontend = null;
        transport = null;
        // A FUSE server that cannot move sessions: no DEVICE_STATE, so QEMU blocks migration.
        VhostUserFrontend g = start(new StubFuseServer());
        assertEquals(0, g.offeredProtocolFeatures() & (1L << 19));
    }

    @Test
    void dirtyLogMarksWritesOnlyWhileLogAllIsAcked() throws Exception {
        VhostUserFrontend f = start(server);
        int size = 256 * 1024; // 2^21 pages of 4 KiB: 8 GiB of guest-physical space
        int log = Linux.memfdCreate("log", Linux.MFD_CLOEXEC);
        try {
            Linux.ftruncate(log, size);
            VhostUserFrontend.Reply r = call(SET_LOG_BASE, le64(size, 0), log);
            assertArrayEquals(le64(size, 0), r.payload(), "the reply repeats the log description");
            f.init();
            assertEquals(0, setBits(log, size), "LOG_ALL not acked yet: nothing is logged");
            f.message(VhostUserFrontend.SET_FEATURES, le64(f.ackedFeatures() | F_LOG_ALL));
            f.lookup(1, "some-name");
            int marked = setBits(log, size);
            // the reply buffer (at least one page) and the used ring entry and index
            assertTrue(marked >= 2, "pages marked: " + marked);
            f.message(VhostUserFrontend.SET_FEATURES, le64(f.ackedFeatures()));
            Linux.ftruncate(log, 0);
            Linux.ftruncate(log, size);
            f.lookup(1, "other-name");
            assertEquals(0, setBits(log, size), "LOG_ALL off again: nothing more is logged");
        } finally {
            Linux.close(log);
        }
    }

    @Test
    void deviceStateGoesOutAndComesInThroughAPipe() throws Exception {
        VhostUserFrontend f = start(server);
        f.init();
        int[] p = Linux.socketpair();
        // Queues still running: the back end refuses (QEMU stops them first).
        assertEquals(0x101, call(SET_DEVICE_STATE_FD, le32(0, 0), p[1]).u64());
        Linux.close(p[0]);
        Linux.close(p[1]);
        f.stopRings();

        int[] save = Linux.socketpair();
        assertEquals(0x100, call(SET_DEVICE_STATE_FD, le32(0, 0), save[1]).u64(), "ok, no fd of ours");
        Linux.close(save[1]); // the daemon has its own copy now; EOF comes when it closes that
        byte[] got = readAll(save[0]);
        Linux.close(save[0]);
        assertArrayEquals(server.state, got);
        assertEquals(0, call(CHECK_DEVICE_STATE, new byte[0]).u64());

        int[] load = Linux.socketpair();
        assertEquals(0x100, call(SET_DEVICE_STATE_FD, le32(1, 0), load[1]).u64());
        Linux.close(load[1]);
        writeAll(load[0], server.state);
        Linux.close(load[0]);
        assertEquals(0, call(CHECK_DEVICE_STATE, new byte[0]).u64());
        assertArrayEquals(server.state, server.loaded);
    }

    @Test
    void aRefusedStateFailsTheCheckAndTheConnectionLives() throws Exception {
        VhostUserFrontend f = start(server);
        f.stopRings();
        int[] load = Linux.socketpair();
        assertEquals(0x100, call(SET_DEVICE_STATE_FD, le32(1, 0), load[1]).u64());
        Linux.close(load[1]);
        byte[] bad = Arrays.copyOf("X-not-a-state".getBytes(StandardCharsets.UTF_8), 100_000);
        writeAll(load[0], bad);
        Linux.close(load[0]);
        assertEquals(1, call(CHECK_DEVICE_STATE, new byte[0]).u64());
        // CHECK without a transfer, unknown direction and phase: errors, not crashes.
        assertEquals(1, call(CHECK_DEVICE_STATE, new byte[0]).u64());
        int[] q = Linux.socketpair();
        assertEquals(0x101, call(SET_DEVICE_STATE_FD, le32(7, 0), q[1]).u64());
        int[] r = Linux.socketpair();
        assertEquals(0x101, call(SET_DEVICE_STATE_FD, le32(0, 3), r[1]).u64());
        for (int fd : new int[] {q[0], q[1], r[0], r[1]}) {
            Linux.close(fd);
        }
        // still answering
        assertEquals(
                f.offeredFeatures(),
                call(VhostUserFrontend.GET_FEATURES, new byte[0]).u64());
    }

    private static byte[] readAll(int fd) throws ErrnoException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long buf = NativeMemory.allocate(65536);
        try {
            byte[] b = new byte[65536];
            int n;
            while ((n = Linux.read(fd, buf, 65536)) > 0) {
                NativeMemory.getBytes(buf, b, 0, n);
                out.write(b, 0, n);
            }
        } finally {
            NativeMemory.free(buf);
        }
        return out.toByteArray();
    }

    private static void writeAll(int fd, byte[] data) throws ErrnoException {
        long buf = NativeMemory.allocate(data.length);
        try {
            NativeMemory.putBytes(buf, data, 0, data.length);
            int done = 0;
            while (done < data.length) {
                done += Linux.write(fd, buf + done, data.length - done);
            }
        } finally {
            NativeMemory.free(buf);
        }
    }
}
