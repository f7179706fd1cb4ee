package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.api.fs.InitFlags.*;
import static dev.virtiofsd.fuse.internal.FuseProtocol.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.Errno;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * FUSE_SECURITY_CTX: the security context of a creation reaches the filesystem, in the 7.37 form
 * (after the names, as Linux 6.1 sends it) and the 7.38 form (a request extension); lies about its
 * sizes are EINVAL and reach nothing. FUSE_OPEN_KILL_SUIDGID reaches it too.
 */
class SecurityContextTest extends Fixture {
    private static final int ALL_LOW = 0x7fffffff; // every low flag, INIT_EXT included

    /** fuse_secctx_header + fuse_secctx + name + value, padded to 8 bytes as the kernel does. */
    static byte[] secctx(String name, String value, int declaredValueSize) {
        byte[] n = (name + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        int len = (8 + 8 + n.length + v.length + 7) & ~7;
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(len).putInt(1).putInt(declaredValueSize).putInt(0).put(n).put(v);
        return b.array();
    }

    private void initWithSecctx(int minor) {
        send(initRequest(7, minor, ALL_LOW, 1)).assertOk(64);
    }

    @Test
    void linux61FormFollowsTheNames() {
        initWithSecctx(37);
        byte[] ctx = secctx("security.selinux", "system_u:object_r:tmp_t:s0", 26);
        send(Req.op(MKDIR, 1).u32(0755).u32(022).str("d").bytes(ctx).build()).assertOk(128);
        assertEquals("mkdir 1 d mode=755 umask=22 secctx=security.selinux=system_u:object_r:tmp_t:s0", fs.last());
        send(Req.op(SYMLINK, 1).str("l").str("target").bytes(ctx).build()).assertOk(128);
        assertEquals("symlink 1 l -> target secctx=security.selinux=system_u:object_r:tmp_t:s0", fs.last());
        send(Req.op(MKNOD, 1)
                        .u32(0010644)
                        .u32(0)
                        .u32(022)
                        .u32(0)
                        .str("p")
                        .bytes(ctx)
                        .build())
                .assertOk(128);
        assertTrue(fs.last().endsWith(" secctx=security.selinux=system_u:object_r:tmp_t:s0"), fs.last());
        send(Req.op(CREATE, 1)
                        .u32(0101)
                        .u32(0100640)
                        .u32(022)
                        .u32(1)
                        .str("f")
                        .bytes(ctx)
                        .build())
                .assertOk(144);
        assertEquals(
                "create 1 f mode=100640 flags=101 umask=22 kill-suidgid secctx=security.selinux=system_u:object_r:tmp_t:s0",
                fs.last());
        // no LSM labelled it: a header with nr_secctx 0
        byte[] none = ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putInt(8)
                .putInt(0)
                .array();
        send(Req.op(MKDIR, 1).u32(0755).u32(022).str("e").bytes(none).build()).assertOk(128);
        assertEquals("mkdir 1 e mode=755 umask=22", fs.last());
    }

    @Test
    void linux62FormIsAnExtension() {
        initWithSecctx(38);
        byte[] ctx = secctx("security.selinux", "lbl", 3);
        send(Req.op(MKDIR, 1)
                        .u32(0755)
                        .u32(022)
                        .str("d")
                        .zeros(6) // the kernel aligns the arguments before an extension
                        .bytes(ctx)
                        .headerTail(ctx.length / 8)
                        .build())
                .assertOk(128);
        assertEquals("mkdir 1 d mode=755 umask=22 secctx=security.selinux=lbl", fs.last());
    }

    @Test
    void liesAboutSizesAreEinvalAndReachNothing() {
        initWithSecctx(37);
        fs.calls.clear();
        // value larger than the block
        send(Req.op(MKDIR, 1)
                        .u32(0755)
                        .u32(022)
                        .str("d")
                        .bytes(secctx("security.selinux", "x", 5000))
                        .build())
                .assertError(Errno.EINVAL);
        // block size larger than the request
        byte[] big = secctx("security.selinux", "x", 1);
        ByteBuffer.wrap(big).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 4096);
        send(Req.op(MKDIR, 1).u32(0755).u32(022).str("d").bytes(big).build()).assertError(Errno.EINVAL);
        // two contexts
        byte[] two = secctx("security.selinux", "x", 1);
        ByteBuffer.wrap(two).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 2);
        send(Req.op(MKDIR, 1).u32(0755).u32(022).str("d").bytes(two).build()).assertError(Errno.EINVAL);
        // name without NUL inside the block
        ByteBuffer noNul = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        noNul.putInt(24).putInt(1).putInt(1).putInt(0).put("xxxxxxxx".getBytes(StandardCharsets.US_ASCII));
        send(Req.op(MKDIR, 1).u32(0755).u32(022).str("d").bytes(noNul.array()).build())
                .assertError(Errno.EINVAL);
        assertTrue(fs.calls.isEmpty(), fs.calls.toString());
    }

    @Test
    void withoutNegotiationTrailingBytesAreNotAContext() {
        init(37); // INIT_EXT not offered: no SECURITY_CTX
        send(Req.op(MKDIR, 1)
                        .u32(0755)
                        .u32(022)
                        .str("d")
                        .bytes(secctx("security.selinux", "x", 1))
                        .build())
                .assertOk(128);
        assertEquals("mkdir 1 d mode=755 umask=22", fs.last());
    }

    @Test
    void openKillSuidgidReachesTheFilesystem() {
        init(37);
        send(Req.op(OPEN, 4).u32(01001).u32(OPEN_KILL_SUIDGID).build()).assertOk(16);
        assertEquals("open 4 flags=1001 kill-suidgid", fs.last());
        send(Req.op(OPEN, 4).u32(01001).u32(0).build()).assertOk(16);
        assertEquals("open 4 flags=1001", fs.last());
    }
}
