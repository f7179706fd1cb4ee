package dev.virtiofsd.it;

import dev.virtiofsd.api.fs.SingleSegment;
import dev.virtiofsd.api.transport.FuseServer;
import dev.virtiofsd.api.transport.FuseSession;
import dev.virtiofsd.api.transport.FuseWorker;
import dev.virtiofsd.linux.NativeMemory;
import java.nio.charset.StandardCharsets;

/**
 * Speaks the FUSE wire protocol straight to a {@link FuseWorker}, for requests the kernel never
 * sends on its own (a LOOKUP of ".." at the root, names with '/', lookups under a symlink).
 */
public final class RawFuseClient implements AutoCloseable {
    public static final int LOOKUP = 1;
    public static final int GETATTR = 3;
    public static final int INIT = 26;
    public static final int ENTRY_OUT_ATTR = 16 + 40;

    private static final int SIZE = 1 << 16;
    private final FuseSession session;
    private final FuseWorker worker;
    private final long in = NativeMemory.allocate(SIZE);
    private final long out = NativeMemory.allocate(SIZE);
    private long unique = 1;

    /** The reply to one request: the out header's error and the body's address. */
    public record Reply(int len, int error, long body) {
        public long u64(int offset) {
            return NativeMemory.getLong(body + offset);
        }

        public int u32(int offset) {
            return NativeMemory.getInt(body + offset);
        }

        /** fuse_entry_out.nodeid */
        public long nodeId() {
            return u64(0);
        }

        /** fuse_entry_out.attr.ino */
        public long entryIno() {
            return u64(40);
        }

        /** fuse_entry_out.attr.mode */
        public int entryMode() {
            return u32(40 + 60);
        }
    }

    public RawFuseClient(FuseServer server) {
        session = server.openSession(1 << 20);
        worker = session.newWorker();
    }

    /** INIT as a 7.38 kernel with no optional flags. */
    public Reply init() {
        long body = NativeMemory.allocate(64);
        try {
            NativeMemory.putInt(body, 7);
            NativeMemory.putInt(body + 4, 38);
            NativeMemory.putInt(body + 8, 128 * 1024);
            return request(INIT, 0, body, 64);
        } finally {
            NativeMemory.free(body);
        }
    }

    public Reply lookup(long parent, String name) {
        byte[] b = name.getBytes(StandardCharsets.UTF_8);
        long body = NativeMemory.allocate(b.length + 1L);
        try {
            NativeMemory.putBytes(body, b, 0, b.length);
            return request(LOOKUP, parent, body, b.length + 1);
        } finally {
            NativeMemory.free(body);
        }
    }

    public Reply request(int opcode, long nodeId, long body, int bodyLen) {
        int len = 40 + bodyLen;
        NativeMemory.fill(in, 40, (byte) 0);
        NativeMemory.putInt(in, len);
        NativeMemory.putInt(in + 4, opcode);
        NativeMemory.putLong(in + 8, unique++);
        NativeMemory.putLong(in + 16, nodeId);
        NativeMemory.copy(body, in + 40, bodyLen);
        int n = worker.handle(new SingleSegment(in, len), new SingleSegment(out, SIZE));
        if (n < 16) {
            throw new AssertionError("reply of " + n + " bytes to opcode " + opcode);
        }
        return new Reply(n, NativeMemory.getInt(out + 4), out + 16);
    }

    @Override
    public void close() {
        session.close();
        NativeMemory.free(in);
        NativeMemory.free(out);
    }
}
