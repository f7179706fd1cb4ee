package dev.virtiofsd.fuse.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.transport.FuseSession;
import dev.virtiofsd.api.transport.FuseWorker;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** A server, session and worker over a {@link RecordingFs}, plus send-and-decode helpers. */
class Fixture {
    static final int MAX_WRITE = 128 * 1024;
    /** Default splits: the 40-byte header straddles four segments. */
    static final int[] IN_CUTS = {3, 17, 1, 22, 5};
    /** Default reply segments: the 16-byte out header straddles three. */
    static final int[] OUT_LENS = {5, 7, 13, 200, 4096, 140000};

    final RecordingFs fs = new RecordingFs();
    final FuseServerImpl server = new FuseServerImpl(fs);
    final FuseSession session = server.openSession(MAX_WRITE);
    final FuseWorker worker = session.newWorker();

    /** A decoded reply. */
    static final class Reply {
        final int returned;
        final ByteBuffer b;
        final TestSegments in;
        final TestSegments out;

        Reply(int returned, byte[] bytes, TestSegments in, TestSegments out) {
            this.returned = returned;
            this.b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            this.in = in;
            this.out = out;
        }

        int len() {
            return b.getInt(0);
        }

        int error() {
            return b.getInt(4);
        }

        long unique() {
            return b.getLong(8);
        }

        int u32(int bodyOff) {
            return b.getInt(16 + bodyOff);
        }

        int u16(int bodyOff) {
            return b.getShort(16 + bodyOff) & 0xffff;
        }

        long u64(int bodyOff) {
            return b.getLong(16 + bodyOff);
        }

        byte[] body() {
            byte[] r = new byte[returned - 16];
            b.get(16, r);
            return r;
        }

        /** Asserts an error reply: only a header, with -errno. */
        Reply assertError(int errno) {
            assertEquals(16, returned, "reply length");
            assertEquals(16, len(), "out_header.len");
            assertEquals(-errno, error(), "out_header.error");
            return this;
        }

        /** Asserts a success reply with a body of {@code bodyLen} bytes. */
        Reply assertOk(int bodyLen) {
            assertEquals(0, error(), "out_header.error");
            assertEquals(16 + bodyLen, returned, "reply length");
            assertEquals(16 + bodyLen, len(), "out_header.len");
            return this;
        }
    }

    Reply send(byte[] request) {
        return send(request, IN_CUTS, OUT_LENS);
    }

    Reply send(byte[] request, int[] inCuts) {
        return send(request, inCuts, OUT_LENS);
    }

    Reply send(byte[] request, int[] inCuts, int... outLens) {
        TestSegments in = TestSegments.split(request, inCuts);
        TestSegments out = TestSegments.ofLengths(outLens);
        int n = worker.handle(in, out);
        in.assertGuardsIntact();
        out.assertGuardsIntact();
        assertTrue(n == 0 || (n >= 16 && n <= out.totalLength()), "reply length " + n);
        Reply r = new Reply(n, out.bytes(), in, out);
        if (n > 0) {
            assertEquals(n, r.len(), "returned length equals out_header.len");
        }
        return r;
    }

    static byte[] initRequest(int major, int minor, int flags, int flags2) {
        Req r = Req.op(FuseProtocol.INIT, 1, 0)
                .u32(major)
                .u32(minor)
                .u32(131072)
                .u32(flags);
        if (minor >= 36) {
            r.u32(flags2).zeros(44);
        }
        return r.build();
    }

    /** INIT at 7.minor offering every flag of the low word except INIT_EXT. */
    Reply init(int minor) {
        Reply r = send(initRequest(7, minor, 0x3fffffff, 0));
        r.assertOk(64);
        return r;
    }
}
