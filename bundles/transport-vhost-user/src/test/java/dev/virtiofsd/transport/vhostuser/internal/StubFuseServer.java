package dev.virtiofsd.transport.vhostuser.internal;

import dev.virtiofsd.api.fs.SegmentList;
import dev.virtiofsd.api.transport.FuseServer;
import dev.virtiofsd.api.transport.FuseSession;
import dev.virtiofsd.api.transport.FuseWorker;
import dev.virtiofsd.linux.NativeMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/** Echoes each request's body back after a 16-byte out header; FORGET gets no reply; SETLKW may block. */
final class StubFuseServer implements FuseServer {
    final List<Session> sessions = new CopyOnWriteArrayList<>();
    final AtomicInteger forgets = new AtomicInteger();
    final AtomicInteger requests = new AtomicInteger();
    volatile int maxWrite;
    /** SETLKW requests sleep until this opens (or they are interrupted). */
    volatile java.util.concurrent.CountDownLatch lockRelease = new java.util.concurrent.CountDownLatch(1);

    final AtomicInteger interruptedLocks = new AtomicInteger();

    final class Session implements FuseSession {
        volatile boolean initialized;
        volatile boolean closed;

        /** INIT requests this session saw. */
        final AtomicInteger inits = new AtomicInteger();

        @Override
        public FuseWorker newWorker() {
            return new FuseWorker() {
                @Override
                public int handle(SegmentList in, SegmentList out) {
                    return StubFuseServer.this.handle(Session.this, in, out);
                }

                @Override
                public boolean mayBlock(SegmentList in) {
                    byte[] req = bytes(in);
                    return req.length >= 8
                            && ByteBuffer.wrap(req)
                                            .order(ByteOrder.LITTLE_ENDIAN)
                                            .getInt(4)
                                    == 33;
                }

                @Override
                public int replyError(SegmentList in, SegmentList out, int errno) {
                    byte[] req = bytes(in);
                    long unique = req.length >= 16
                            ? ByteBuffer.wrap(req)
                                    .order(ByteOrder.LITTLE_ENDIAN)
                                    .getLong(8)
                            : 0;
                    if (out.totalLength() < 16) {
                        return 0;
                    }
                    ByteBuffer r = ByteBuffer.allocate(16)
                            .order(ByteOrder.LITTLE_ENDIAN)
                            .putInt(16)
                            .putInt(-errno)
                            .putLong(unique);
                    write(out, r.array(), 16);
                    return 16;
                }
            };
        }

        @Override
        public boolean initialized() {
            return initialized;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    @Override
    public FuseSession openSession(int maxWrite) {
        this.maxWrite = maxWrite;
        Session s = new Session();
        sessions.add(s);
        return s;
    }

    static byte[] bytes(SegmentList s) {
        byte[] b = new byte[(int) s.totalLength()];
        int off = 0;
        for (int i = 0; i < s.count(); i++) {
            NativeMemory.getBytes(s.address(i), b, off, s.length(i));
            off += s.length(i);
        }
        return b;
    }

    static void write(SegmentList s, byte[] b, int len) {
        int off = 0;
        for (int i = 0; i < s.count() && off < len; i++) {
            int n = Math.min(s.length(i), len - off);
            NativeMemory.putBytes(s.address(i), b, off, n);
            off += n;
        }
    }

    private int handle(Session session, SegmentList in, SegmentList out) {
        requests.incrementAndGet();
        byte[] req = bytes(in);
        ByteBuffer h = ByteBuffer.wrap(req).order(ByteOrder.LITTLE_ENDIAN);
        int opcode = h.getInt(4);
        long unique = h.getLong(8);
        if (opcode == 2 || opcode == 42) {
            forgets.incrementAndGet();
            return 0;
        }
        if (opcode == 33) {
            int error = 0;
            try {
                lockRelease.await();
            } catch (InterruptedException e) {
                interruptedLocks.incrementAndGet();
                error = -4;
            }
            ByteBuffer r = ByteBuffer.allocate(16)
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .putInt(16)
                    .putInt(error)
                    .putLong(unique);
            write(out, r.array(), 16);
            return 16;
        }
        if (opcode == 26) {
            session.inits.incrementAndGet();
            session.initialized = true;
        }
        int bodyLen = Math.max(0, req.length - 40);
        int len = (int) Math.min(16 + bodyLen, out.totalLength());
        ByteBuffer r = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        r.putInt(len).putInt(0).putLong(unique);
        r.put(req, 40, len - 16);
        write(out, r.array(), len);
        return len;
    }
}
