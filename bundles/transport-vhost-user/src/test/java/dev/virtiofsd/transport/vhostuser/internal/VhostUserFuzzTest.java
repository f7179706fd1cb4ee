package dev.virtiofsd.transport.vhostuser.internal;

import static dev.virtiofsd.transport.vhostuser.internal.VhostUser.*;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.frontend.OpenFds;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.UnixSocket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.slf4j.LoggerFactory;

/**
 * Coverage-guided fuzzing of the vhost-user message handler and the descriptor-chain walk. Every
 * input is (1) bytes written into a 1 MiB memfd that is the guest's memory (descriptor tables,
 * rings, buffers), (2) a stream of vhost-user messages (any request, flags, declared size and
 * payload; memory and eventfds attached where a message carries fds), optionally after a valid
 * QEMU-like set-up so that deep states are reached, served by a fresh device until the stream ends,
 * and (3) descriptor heads whose chains are walked. The queue threads that the messages start drain
 * the rings meanwhile through an echoing FUSE server.
 *
 * <p>Checked: no exception but an errno leaves the message loop, every segment of a walked chain lies
 * inside the mapped guest memory, no fd is left open once the device is released, and nothing
 * crashes the JVM. {@code mvn verify} replays the
 * committed corpus; {@code JAZZER_FUZZ=1} fuzzes.
 */
class VhostUserFuzzTest {
    static final long MEM = 1 << 20;
    static final long UVA = 0x7f00_0000_0000L;
    static final int FUZZ_AREA = 0x10000;
    static final int MAX_STREAM = 48 * 1024;
    static final int MAX_MESSAGES = 48;

    private static int memfd;
    private static long guest;
    private static long msg;
    private static final StubFuseServer SERVER = new StubFuseServer();

    @BeforeAll
    static void memory() throws ErrnoException {
        memfd = Linux.memfdCreate("fuzz-guest", 0);
        Linux.ftruncate(memfd, MEM);
        guest = Linux.mmap(0, MEM, Linux.PROT_READ | Linux.PROT_WRITE, Linux.MAP_SHARED, memfd, 0);
        msg = NativeMemory.allocate(MAX_STREAM + 4096);
        Logger l = (Logger) LoggerFactory.getLogger("dev.virtiofsd.transport");
        l.setLevel(Level.OFF); // every rejected message logs an error line: far too slow while fuzzing
        SERVER.lockRelease.countDown(); // echo SETLKW at once
    }

    @AfterAll
    static void free() throws ErrnoException {
        Linux.munmap(guest, MEM);
        Linux.close(memfd);
        NativeMemory.free(msg);
    }

    /** Little-endian fields of the input; 0 past its end. */
    static final class Input {
        final ByteBuffer b;

        Input(byte[] d) {
            b = ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN);
        }

        boolean more() {
            return b.hasRemaining();
        }

        int u8() {
            return b.hasRemaining() ? b.get() & 0xff : 0;
        }

        int u16() {
            return u8() | u8() << 8;
        }

        void bytesTo(long dst, int n) {
            n = Math.min(n, b.remaining());
            for (int i = 0; i < n; i++) {
                NativeMemory.putByte(dst + i, b.get());
            }
        }
    }

    /** Builds the message stream in native memory. */
    static final class Stream {
        int len;
        final int[] fds = new int[UnixSocket.MAX_FDS];
        UnixSocket out;

        void message(int request, int flags, int size, long payload, int payloadLen, int... attach)
                throws ErrnoException {
            long m = msg;
            NativeMemory.putInt(m, request);
            NativeMemory.putInt(m + 4, flags);
            NativeMemory.putInt(m + 8, size);
            if (payloadLen > 0) {
                NativeMemory.copy(payload, m + HEADER_SIZE, payloadLen);
            }
            for (int i = 0; i < attach.length; i++) {
                fds[i] = attach[i];
            }
            out.send(m, HEADER_SIZE + payloadLen, fds, attach.length);
            for (int fd : attach) {
                if (fd != memfd) {
                    Linux.close(fd);
                }
            }
            len += HEADER_SIZE + payloadLen;
        }

        void u64(int request, long v) throws ErrnoException {
            long p = msg + 8192;
            NativeMemory.putLong(p, v);
            message(request, VERSION, 8, p, 8);
        }

        void state(int request, int index, int num) throws ErrnoException {
            long p = msg + 8192;
            NativeMemory.putInt(p, index);
            NativeMemory.putInt(p + 4, num);
            message(request, VERSION, 8, p, 8);
        }
    }

    @FuzzTest(maxDuration = "130m", maxExecutions = 1_000_000)
    void messagesAndChains(byte[] data) throws Exception {
        Input in = new Input(data);
        int setup = in.u8();
        int qsize = 1 << (1 + in.u8() % 8);
        // (1) guest memory
        NativeMemory.fill(guest, FUZZ_AREA, (byte) 0);
        int writes = in.u8() % 16;
        for (int i = 0; i < writes; i++) {
            int off = in.u16();
            int n = in.u8();
            in.bytesTo(guest + off, Math.min(n, FUZZ_AREA - off));
        }
        int[] heads = new int[in.u8() % 5];
        for (int i = 0; i < heads.length; i++) {
            heads[i] = in.u16();
        }

        java.util.Set<String> fdsBefore = OpenFds.snapshot();
        int[] sv = Linux.socketpair();
        Stream s = new Stream();
        s.out = new UnixSocket(sv[0]);
        VhostUserDevice dev = new VhostUserDevice(new UnixSocket(sv[1]), SERVER, 3, (setup & 16) != 0 ? 1 : 0);
        try {
            // (2) messages, all queued before the device reads them: few and small enough (at most
            // MAX_MESSAGES, MAX_STREAM bytes) that they and the device's replies fit the socket buffers.
            if ((setup & 1) != 0) {
                qemuSetup(s, setup, qsize);
            }
            int messages = 0;
            while (in.more() && s.len < MAX_STREAM - 4200 && messages++ < MAX_MESSAGES) {
                int request = in.u8() % 42;
                int flags = in.u8();
                int declared = in.u16() % 4200;
                int actual = Math.min(in.u16() % 4200, declared + 16);
                long p = msg + 8192;
                NativeMemory.fill(p, actual, (byte) 0);
                in.bytesTo(p, actual);
                int fl = (flags & 0x80) != 0 ? flags : VERSION | (flags & FLAG_NEED_REPLY);
                s.message(request, fl, declared, p, actual, fdsFor(request, flags));
            }
            s.out.shutdown();
            dev.serve(); // until the stream ends; only an errno may end it early (a RuntimeException is a finding)
            // (3) chains
            Virtqueue q = dev.virtqueue(1);
            GuestMemory mem = dev.memory();
            if (q.ring.size > 0 && q.ring.mapped()) {
                ChainSegments ins = new ChainSegments(8);
                ChainSegments outs = new ChainSegments(8);
                for (int head : heads) {
                    int status = q.parse(head % q.ring.size, ins, outs);
                    if (status != SplitRing.BROKEN) {
                        inGuest(ins, mem);
                        inGuest(outs, mem);
                    }
                }
            }
        } finally {
            dev.close();
            dev.release();
            s.out.close();
        }
        // Every fd the messages carried was kept by the device and closed with it, or closed at once.
        // Fewer is no leak: the JVM may close an fd of its own (a finished earlier input's) meanwhile.
        java.util.Set<String> leaked = OpenFds.since(fdsBefore);
        assertTrue(leaked.isEmpty(), "fds leaked by the device: " + leaked);
    }

    /** Every segment must lie inside one mapped region of guest memory. */
    private static void inGuest(ChainSegments segs, GuestMemory mem) {
        for (int i = 0; i < segs.count(); i++) {
            long a = segs.address(i);
            int l = segs.length(i);
            boolean inside = false;
            for (int r = 0; r < mem.regionCount() && !inside; r++) {
                long start = mem.hostOf(r, mem.gpaOf(r));
                inside = a >= start && a + l <= start + mem.sizeOf(r);
            }
            assertTrue(inside, "segment " + i + " at 0x" + Long.toHexString(a) + "+" + l + " outside guest memory");
        }
    }

    /** The fds a message of this kind carries: the memory's memfd, or a fresh eventfd. */
    private static int[] fdsFor(int request, int flags) throws ErrnoException {
        if ((flags & 0x40) != 0) {
            return new int[0];
        }
        switch (request) {
            case SET_MEM_TABLE:
            case ADD_MEM_REG:
                return new int[] {memfd};
            case SET_VRING_KICK:
            case SET_VRING_CALL:
            case SET_VRING_ERR:
                return new int[] {Linux.eventfd(0, Linux.EFD_NONBLOCK)};
            default:
                return new int[0];
        }
    }

    /** What QEMU sends before a guest runs: features, one memory region, two rings started. */
    private static void qemuSetup(Stream s, int setup, int qsize) throws ErrnoException {
        long features = F_VERSION_1 | F_PROTOCOL_FEATURES;
        if ((setup & 4) != 0) {
            features |= F_INDIRECT_DESC;
        }
        if ((setup & 8) != 0) {
            features |= F_EVENT_IDX;
        }
        s.message(GET_FEATURES, VERSION, 0, 0, 0);
        s.u64(SET_FEATURES, features);
        s.message(GET_PROTOCOL_FEATURES, VERSION, 0, 0, 0);
        s.u64(SET_PROTOCOL_FEATURES, (setup & 2) != 0 ? PF_MQ | PF_REPLY_ACK | PF_CONFIGURE_MEM_SLOTS : PF_MQ);
        s.message(SET_OWNER, VERSION, 0, 0, 0);
        long p = msg + 8192;
        NativeMemory.fill(p, 8 + 32, (byte) 0);
        NativeMemory.putInt(p, 1);
        NativeMemory.putLong(p + 8, 0); // gpa
        NativeMemory.putLong(p + 16, MEM);
        NativeMemory.putLong(p + 24, UVA);
        NativeMemory.putLong(p + 32, 0);
        s.message(SET_MEM_TABLE, VERSION, 40, p, 40, memfd);
        for (int q = 0; q < 2; q++) {
            long ring = 0x8000L * q;
            s.state(SET_VRING_NUM, q, qsize);
            NativeMemory.putInt(p, q);
            NativeMemory.putInt(p + 4, 0);
            NativeMemory.putLong(p + 8, UVA + ring); // desc
            NativeMemory.putLong(p + 16, UVA + ring + 0x6000); // used
            NativeMemory.putLong(p + 24, UVA + ring + 0x4000); // avail
            NativeMemory.putLong(p + 32, 0);
            s.message(SET_VRING_ADDR, VERSION, 40, p, 40);
            s.state(SET_VRING_BASE, q, 0);
            NativeMemory.putLong(msg + 8192 + 64, q);
            s.message(SET_VRING_CALL, VERSION, 8, msg + 8192 + 64, 8, Linux.eventfd(0, Linux.EFD_NONBLOCK));
            s.message(SET_VRING_KICK, VERSION, 8, msg + 8192 + 64, 8, Linux.eventfd(1, Linux.EFD_NONBLOCK));
            s.state(SET_VRING_ENABLE, q, 1);
        }
    }
}
