package dev.virtiofsd.fuse.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Builds FUSE request bytes: a fuse_in_header followed by whatever arguments the test appends. */
final class Req {
    private final ByteBuffer b = ByteBuffer.allocate(1 << 21).order(ByteOrder.LITTLE_ENDIAN);
    private long lenOverride = -1;

    private Req(int opcode, long unique, long nodeId) {
        b.putInt(0); // len, set by build()
        b.putInt(opcode);
        b.putLong(unique);
        b.putLong(nodeId);
        b.putInt(1000); // uid
        b.putInt(1001); // gid
        b.putInt(4242); // pid
        b.putInt(0); // total_extlen + padding (7.38), padding before
    }

    static Req op(int opcode, long unique, long nodeId) {
        return new Req(opcode, unique, nodeId);
    }

    static Req op(int opcode, long nodeId) {
        return new Req(opcode, 77, nodeId);
    }

    Req u16(int v) {
        b.putShort((short) v);
        return this;
    }

    Req u32(int v) {
        b.putInt(v);
        return this;
    }

    Req u64(long v) {
        b.putLong(v);
        return this;
    }

    Req bytes(byte[] v) {
        b.put(v);
        return this;
    }

    Req zeros(int n) {
        b.put(new byte[n]);
        return this;
    }

    /** A NUL-terminated string. */
    Req str(String s) {
        b.put(s.getBytes(StandardCharsets.UTF_8)).put((byte) 0);
        return this;
    }

    /** The header's last u32 (7.37: padding; 7.38: total_extlen in the low u16). */
    Req headerTail(int v) {
        b.putInt(36, v);
        return this;
    }

    Req len(long len) {
        lenOverride = len;
        return this;
    }

    byte[] build() {
        b.putInt(0, lenOverride >= 0 ? (int) lenOverride : b.position());
        return Arrays.copyOf(b.array(), b.position());
    }
}
