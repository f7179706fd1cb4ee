package dev.virtiofsd.frontend;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Builds FUSE request bytes (linux include/uapi/linux/fuse.h, protocol 7.37 as Linux 6.1 sends). */
@SuppressWarnings("ByteBufferBackingArray") // every buffer here comes from body(): ByteBuffer.allocate, offset 0
public final class Fuse {
    public static final int LOOKUP = 1;
    public static final int FORGET = 2;
    public static final int GETATTR = 3;
    public static final int UNLINK = 10;
    public static final int OPEN = 14;
    public static final int READ = 15;
    public static final int WRITE = 16;
    public static final int RELEASE = 18;
    public static final int INIT = 26;
    public static final int OPENDIR = 27;
    public static final int RELEASEDIR = 29;
    public static final int SETLK = 32;
    public static final int SETLKW = 33;
    public static final int CREATE = 35;
    public static final int F_RDLCK = 0;
    public static final int F_WRLCK = 1;
    public static final int F_UNLCK = 2;
    /** lk_flags bit: a flock(2) lock rather than a POSIX record lock. */
    public static final int LK_FLOCK = 1;

    public static final int INTERRUPT = 36;
    public static final int DESTROY = 38;
    public static final int BATCH_FORGET = 42;
    public static final int READDIRPLUS = 44;
    public static final int IN_HEADER = 40;
    public static final long ROOT = 1;

    private long unique = 2;

    /** A request: 40-byte in header plus {@code body}. */
    public byte[] request(int opcode, long nodeId, byte[] body) {
        int len = IN_HEADER + body.length;
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(len)
                .putInt(opcode)
                .putLong(unique += 2)
                .putLong(nodeId)
                .putInt(0)
                .putInt(0)
                .putInt(1)
                .putInt(0);
        b.put(body);
        return b.array();
    }

    public static ByteBuffer body(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    public static byte[] name(String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        byte[] r = new byte[n.length + 1];
        System.arraycopy(n, 0, r, 0, n.length);
        return r;
    }

    public byte[] init(int minor, int flags) {
        return request(
                INIT,
                0,
                body(64).putInt(7)
                        .putInt(minor)
                        .putInt(128 * 1024)
                        .putInt(flags)
                        .array());
    }

    public byte[] lookup(long parent, String name) {
        return request(LOOKUP, parent, name(name));
    }

    public byte[] getattr(long node) {
        return request(GETATTR, node, new byte[16]);
    }

    public byte[] open(long node, int flags) {
        return request(OPEN, node, body(8).putInt(flags).putInt(0).array());
    }

    public byte[] opendir(long node) {
        return request(OPENDIR, node, body(8).putInt(0).putInt(0).array());
    }

    public byte[] read(long node, long fh, long offset, int size) {
        return request(
                READ, node, body(40).putLong(fh).putLong(offset).putInt(size).array());
    }

    public byte[] readdirplus(long node, long fh, long offset, int size) {
        return request(
                READDIRPLUS,
                node,
                body(40).putLong(fh).putLong(offset).putInt(size).array());
    }

    public byte[] write(long node, long fh, long offset, byte[] data) {
        ByteBuffer b = body(40 + data.length).putLong(fh).putLong(offset).putInt(data.length);
        b.position(40);
        b.put(data);
        return request(WRITE, node, b.array());
    }

    public byte[] release(long node, long fh) {
        return request(RELEASE, node, body(24).putLong(fh).array());
    }

    public byte[] releasedir(long node, long fh) {
        return request(RELEASEDIR, node, body(24).putLong(fh).array());
    }

    public byte[] create(long parent, String name, int mode, int flags) {
        byte[] n = name(name);
        ByteBuffer b = body(16 + n.length).putInt(flags).putInt(mode).putInt(0).putInt(0);
        b.put(n);
        return request(CREATE, parent, b.array());
    }

    /** SETLK or SETLKW (fuse_lk_in): whole-file lock of {@code type} for {@code owner}. */
    public byte[] setlk(boolean sleep, long node, long fh, long owner, int type, int lkFlags) {
        ByteBuffer b = body(48).putLong(fh)
                .putLong(owner)
                .putLong(0)
                .putLong(Long.MAX_VALUE)
                .putInt(type)
                .putInt(1)
                .putInt(lkFlags);
        return request(sleep ? SETLKW : SETLK, node, b.array());
    }

    public byte[] unlink(long parent, String name) {
        return request(UNLINK, parent, name(name));
    }

    public byte[] forget(long node, long nlookup) {
        return request(FORGET, node, body(8).putLong(nlookup).array());
    }
}
