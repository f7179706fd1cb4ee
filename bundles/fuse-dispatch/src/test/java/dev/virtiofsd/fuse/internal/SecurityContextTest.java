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

    /** Raw little-endian bytes: a fuse_secctx_header or fuse_ext_header and what follows, as given. */
    private static byte[] block(int size, int type, int... words) {
        ByteBuffer b = ByteBuffer.allocate(8 + 4 * words.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(size).putInt(type);
        for (int w : words) {
            b.putInt(w);
        }
        return b.array();
    }

    private static byte[] concat(byte[]... parts) {
        ByteBuffer b = ByteBuffer.allocate(
                java.util.Arrays.stream(parts).mapToInt(p -> p.length).sum());
        for (byte[] p : parts) {
            b.put(p);
        }
        return b.array();
    }

    /** MKDIR "d" in the 7.37 form: the security context block right after the name. */
    private Reply mkdir37(byte[] tail) {
        return send(Req.op(MKDIR, 1).u32(0755).u32(022).str("d").bytes(tail).build());
    }

    /** MKDIR "d" in the 7.38 form: the arguments padded to {@code argBytes}, then {@code ext} as extensions. */
    private Reply mkdir38(int argBytes, byte[] ext) {
        return send(Req.op(MKDIR, 1)
                .u32(0755)
                .u32(022)
                .str("d")
                .zeros(argBytes - 10)
                .bytes(ext)
                .headerTail(ext.length / 8)
                .build());
    }

    @Test
    void blockBoundsAtTheExactByte() {
        initWithSecctx(37);
        fs.calls.clear();
        // fewer than 8 bytes after the name: padding, not a header
        mkdir37(new byte[7]).assertOk(128);
        assertEquals("mkdir 1 d mode=755 umask=22", fs.last());
        // a header announcing one context that ends exactly where the request does: no fuse_secctx
        mkdir37(block(8, 1)).assertError(Errno.EINVAL);
        // a block announcing 8 bytes more than present
        byte[] longer = secctx("security.selinux", "x", 1);
        ByteBuffer.wrap(longer).order(ByteOrder.LITTLE_ENDIAN).putInt(0, longer.length + 8);
        mkdir37(longer).assertError(Errno.EINVAL);
        // FUSE_MAX_NR_SECCTX contexts is a number of contexts, not another extension
        byte[] most = secctx("security.selinux", "x", 1);
        ByteBuffer.wrap(most).order(ByteOrder.LITTLE_ENDIAN).putInt(4, MAX_NR_SECCTX);
        mkdir37(most).assertError(Errno.EINVAL);
        // an empty name
        mkdir37(secctx("", "x", 1)).assertError(Errno.EINVAL);
        // a name of NAME_MAX + 1 bytes
        mkdir37(secctx("s".repeat(NAME_MAX + 1), "x", 1)).assertError(Errno.EINVAL);
        // "security.selinux\0" (17 bytes) and a value of 7 end the 40-byte block exactly: one more is a lie
        byte[] exact = secctx("security.selinux", "abcdefg", 8);
        assertEquals(40, exact.length);
        mkdir37(exact).assertError(Errno.EINVAL);
        assertEquals(1, fs.calls.size(), fs.calls.toString());
        // the honest ones: exact fits
        mkdir37(secctx("security.selinux", "abcdefg", 7)).assertOk(128);
        assertEquals("mkdir 1 d mode=755 umask=22 secctx=security.selinux=abcdefg", fs.last());
        String longest = "s".repeat(NAME_MAX);
        mkdir37(secctx(longest, "v", 1)).assertOk(128);
        assertEquals("mkdir 1 d mode=755 umask=22 secctx=" + longest + "=v", fs.last());
    }

    @Test
    void anotherExtensionFirstIsSkippedFrom738AndEndsTheSearchBefore() {
        byte[] groups = block(16, 32, 1, 5); // fuse_ext_header of FUSE_EXT_GROUPS, one gid
        byte[] ctx = secctx("security.selinux", "lbl", 3);
        initWithSecctx(38);
        mkdir38(16, concat(groups, ctx)).assertOk(128);
        assertEquals("mkdir 1 d mode=755 umask=22 secctx=security.selinux=lbl", fs.last());
        // a header with nr_secctx 0 ends the search: a context after it is not read
        mkdir38(16, concat(block(8, 0), ctx)).assertOk(128);
        assertEquals("mkdir 1 d mode=755 umask=22", fs.last());
        // 7.37: no extensions, so a block that is not a security context ends the search
        SecurityContextTest old = new SecurityContextTest();
        old.initWithSecctx(37);
        old.mkdir37(concat(groups, ctx)).assertOk(128);
        assertEquals("mkdir 1 d mode=755 umask=22", old.fs.last());
    }

    @Test
    void theExtensionIsReadWhereArgumentsAndExtensionsFillTheBuffer() {
        initWithSecctx(38);
        fs.calls.clear();
        int cap = RequestDecoder.ARGS_CAP;
        // a header announcing one context in the buffer's last 8 bytes: no fuse_secctx behind it
        mkdir38(cap - 8, block(8, 1)).assertError(Errno.EINVAL);
        assertTrue(fs.calls.isEmpty(), fs.calls.toString());
        byte[] ctx = secctx("security.selinux", "lbl", 3);
        mkdir38(cap - ctx.length, ctx).assertOk(128);
        assertEquals("mkdir 1 d mode=755 umask=22 secctx=security.selinux=lbl", fs.last());
        // 8 bytes more than the buffer holds: the extension is not copied in, so there is no context
        mkdir38(cap - ctx.length + 8, ctx).assertOk(128);
        assertEquals("mkdir 1 d mode=755 umask=22", fs.last());
    }

    @Test
    void everyCreationCarriesTheExtension() {
        initWithSecctx(38);
        byte[] ctx = secctx("security.selinux", "lbl", 3);
        int n = ctx.length / 8;
        String label = " secctx=security.selinux=lbl";
        send(Req.op(CREATE, 1)
                        .u32(0101)
                        .u32(0100640)
                        .u32(022)
                        .u32(0)
                        .str("f")
                        .zeros(6)
                        .bytes(ctx)
                        .headerTail(n)
                        .build())
                .assertOk(144);
        assertTrue(fs.last().startsWith("create 1 f") && fs.last().endsWith(label), fs.last());
        send(Req.op(MKNOD, 1)
                        .u32(0010644)
                        .u32(0)
                        .u32(022)
                        .u32(0)
                        .str("p")
                        .zeros(6)
                        .bytes(ctx)
                        .headerTail(n)
                        .build())
                .assertOk(128);
        assertTrue(fs.last().startsWith("mknod 1 p") && fs.last().endsWith(label), fs.last());
        send(Req.op(SYMLINK, 1)
                        .str("l")
                        .str("target")
                        .zeros(7)
                        .bytes(ctx)
                        .headerTail(n)
                        .build())
                .assertOk(128);
        assertEquals("symlink 1 l -> target" + label, fs.last());
        send(Req.op(TMPFILE, 1)
                        .u32(02)
                        .u32(0100600)
                        .u32(022)
                        .u32(0)
                        .bytes(ctx)
                        .headerTail(n)
                        .build())
                .assertOk(144);
        assertTrue(fs.last().startsWith("tmpfile 1") && fs.last().endsWith(label), fs.last());
    }
}
