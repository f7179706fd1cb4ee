package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.api.fs.InitFlags.*;
import static dev.virtiofsd.fuse.internal.FuseProtocol.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.Errno;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MalformedTest extends Fixture {

    @BeforeEach
    void initSession() {
        init(38);
        fs.calls.clear();
    }

    @Test
    void shortHeaderIsEinvalWithUniqueWhenKnown() {
        byte[] full = Req.op(GETATTR, 0xabcdefL, 1).u32(0).u32(0).u64(0).build();
        Reply r = send(Arrays.copyOf(full, 20), new int[] {7}).assertError(Errno.EINVAL);
        assertEquals(0xabcdefL, r.unique());
        send(Arrays.copyOf(full, 3), new int[] {1}).assertError(Errno.EINVAL);
        send(new byte[0], new int[0]).assertError(Errno.EINVAL);
        assertTrue(fs.calls.isEmpty());
    }

    @Test
    void lengthMismatchIsEinval() {
        send(Req.op(LOOKUP, 1).str("name").len(100).build()).assertError(Errno.EINVAL);
        send(Req.op(LOOKUP, 1).str("name").len(30).build()).assertError(Errno.EINVAL);
        send(Req.op(LOOKUP, 1).str("name").len(0xffffffffL).build()).assertError(Errno.EINVAL);
        assertTrue(fs.calls.isEmpty());
    }

    @Test
    void badNames() {
        send(Req.op(LOOKUP, 1)
                        .bytes("noterminator".getBytes(StandardCharsets.UTF_8))
                        .build())
                .assertError(Errno.EINVAL);
        send(Req.op(LOOKUP, 1).str("a/b").build()).assertError(Errno.EINVAL);
        send(Req.op(LOOKUP, 1).str("/").build()).assertError(Errno.EINVAL);
        send(Req.op(LOOKUP, 1).str("").build()).assertError(Errno.EINVAL);
        send(Req.op(LOOKUP, 1).build()).assertError(Errno.EINVAL);
        send(Req.op(LOOKUP, 1).str("x".repeat(256)).build()).assertError(Errno.ENAMETOOLONG);
        send(Req.op(MKDIR, 1).u32(0755).u32(0).str("y".repeat(300)).build()).assertError(Errno.ENAMETOOLONG);
        assertTrue(fs.calls.isEmpty());
        send(Req.op(LOOKUP, 1).str("x".repeat(255)).build()).assertOk(128);
    }

    @Test
    void dotsRejectedWhereANameIsMadeOrRemoved() {
        for (String dots : new String[] {".", ".."}) {
            send(Req.op(MKDIR, 1).u32(0755).u32(0).str(dots).build()).assertError(Errno.EINVAL);
            send(Req.op(MKNOD, 1).u32(0644).u32(0).u32(0).u32(0).str(dots).build())
                    .assertError(Errno.EINVAL);
            send(Req.op(CREATE, 1).u32(0).u32(0644).u32(0).u32(0).str(dots).build())
                    .assertError(Errno.EINVAL);
            send(Req.op(SYMLINK, 1).str(dots).str("t").build()).assertError(Errno.EINVAL);
            send(Req.op(UNLINK, 1).str(dots).build()).assertError(Errno.EINVAL);
            send(Req.op(RMDIR, 1).str(dots).build()).assertError(Errno.EINVAL);
            send(Req.op(LINK, 1).u64(5).str(dots).build()).assertError(Errno.EINVAL);
            send(Req.op(RENAME, 1).u64(1).str(dots).str("b").build()).assertError(Errno.EINVAL);
            send(Req.op(RENAME, 1).u64(1).str("a").str(dots).build()).assertError(Errno.EINVAL);
            send(Req.op(RENAME2, 1).u64(1).u32(0).u32(0).str("a").str(dots).build())
                    .assertError(Errno.EINVAL);
        }
        assertTrue(fs.calls.isEmpty());
        // "..." is an ordinary name
        send(Req.op(MKDIR, 1).u32(0755).u32(0).str("...").build()).assertOk(128);
    }

    @Test
    void secondNameOrTargetMissing() {
        send(Req.op(RENAME, 1).u64(1).str("a").build()).assertError(Errno.EINVAL);
        send(Req.op(RENAME, 1)
                        .u64(1)
                        .str("a")
                        .bytes("b".getBytes(StandardCharsets.UTF_8))
                        .build())
                .assertError(Errno.EINVAL);
        send(Req.op(SYMLINK, 1).str("a").build()).assertError(Errno.EINVAL);
        send(Req.op(SYMLINK, 1).str("a").str("").build()).assertError(Errno.EINVAL);
        send(Req.op(SYMLINK, 1).str("a").str("t".repeat(4096)).build()).assertError(Errno.ENAMETOOLONG);
        send(Req.op(GETXATTR, 1).u32(0).u32(0).build()).assertError(Errno.EINVAL);
        send(Req.op(SETXATTR, 1)
                        .u32(0)
                        .u32(0)
                        .bytes("user.x".getBytes(StandardCharsets.UTF_8))
                        .build())
                .assertError(Errno.EINVAL);
        assertTrue(fs.calls.isEmpty());
    }

    /** Argument struct sizes of every opcode that has one. */
    private static final Map<Integer, Integer> STRUCTS = Map.ofEntries(
            Map.entry(GETATTR, 16),
            Map.entry(SETATTR, 88),
            Map.entry(MKNOD, 16),
            Map.entry(MKDIR, 8),
            Map.entry(RENAME, 8),
            Map.entry(RENAME2, 16),
            Map.entry(LINK, 8),
            Map.entry(OPEN, 8),
            Map.entry(OPENDIR, 8),
            Map.entry(CREATE, 16),
            Map.entry(TMPFILE, 16),
            Map.entry(READ, 40),
            Map.entry(WRITE, 40),
            Map.entry(READDIR, 40),
            Map.entry(READDIRPLUS, 40),
            Map.entry(RELEASE, 24),
            Map.entry(RELEASEDIR, 24),
            Map.entry(FLUSH, 24),
            Map.entry(FSYNC, 16),
            Map.entry(FSYNCDIR, 16),
            Map.entry(SETXATTR, 8),
            Map.entry(GETXATTR, 8),
            Map.entry(LISTXATTR, 8),
            Map.entry(GETLK, 48),
            Map.entry(SETLK, 48),
            Map.entry(SETLKW, 48),
            Map.entry(ACCESS, 8),
            Map.entry(FALLOCATE, 32),
            Map.entry(LSEEK, 24),
            Map.entry(COPY_FILE_RANGE, 56));

    @Test
    void truncatedArgStructsAreEinval() {
        for (Map.Entry<Integer, Integer> e : STRUCTS.entrySet()) {
            for (int len : new int[] {0, 1, e.getValue() - 1}) {
                Reply r = send(Req.op(e.getKey(), 1).zeros(len).build());
                r.assertError(Errno.EINVAL);
            }
        }
        assertTrue(fs.calls.isEmpty(), fs.calls.toString());
        // no-reply requests stay without reply even when malformed
        assertEquals(0, send(Req.op(FORGET, 1).zeros(7).build()).returned);
        assertEquals(0, send(Req.op(BATCH_FORGET, 1).zeros(4).build()).returned);
        assertTrue(fs.calls.isEmpty(), fs.calls.toString());
    }

    @Test
    void oversizedArgumentsAreEinval() {
        send(Req.op(LOOKUP, 1).str("x".repeat(FuseWorkerImpl.ARGS_CAP + 10)).build())
                .assertError(Errno.EINVAL);
        assertTrue(fs.calls.isEmpty());
    }

    @Test
    void outSpaceBelowHeaderGivesNoReply() {
        Reply r = send(Req.op(LOOKUP, 1).str("x").build(), IN_CUTS, 5, 10);
        assertEquals(0, r.returned);
        r = send(Req.op(LOOKUP, 1).str("x").build(), IN_CUTS, new int[0]);
        assertEquals(0, r.returned);
        r = send(
                Req.op(READ, 1)
                        .u64(0)
                        .u64(0)
                        .u32(4096)
                        .u32(0)
                        .u64(0)
                        .u32(0)
                        .u32(0)
                        .build(),
                IN_CUTS,
                15);
        assertEquals(0, r.returned);
        assertTrue(fs.calls.isEmpty(), "nothing done that could not be answered: " + fs.calls);
        // requests without reply need no reply space (hiprio queue descriptors have none)
        assertEquals(0, send(Req.op(FORGET, 9).u64(2).build(), IN_CUTS, new int[0]).returned);
        assertEquals("forget 9 2", fs.last());
    }

    @Test
    void outSpaceTooSmallForReplyIsEioWithoutCallingFs() {
        send(Req.op(LOOKUP, 1).str("x").build(), IN_CUTS, 10, 10, 100).assertError(Errno.EIO);
        send(Req.op(CREATE, 1).u32(0).u32(0644).u32(0).u32(0).str("c").build(), IN_CUTS, 16 + 128)
                .assertError(Errno.EIO);
        send(Req.op(GETATTR, 1).u32(0).u32(0).u64(0).build(), IN_CUTS, 16).assertError(Errno.EIO);
        assertTrue(fs.calls.isEmpty(), fs.calls.toString());
        // READ into a header-only reply: an empty read, not an overflow
        send(Req.op(READ, 1).u64(0).u64(0).u32(4096).u32(0).u64(0).u32(0).u32(0).build(), IN_CUTS, 16)
                .assertOk(0);
    }

    @Test
    void aShortHeaderIsReadOverZerosNotOverThePreviousRequest() {
        // the previous request in this worker's buffer is a FORGET, which gets no reply
        assertEquals(0, send(Req.op(FORGET, 0x1122334455L, 9).u64(1).build()).returned);
        Reply r = send(new byte[] {1, 2, 3}, new int[] {1}).assertError(Errno.EINVAL);
        assertEquals(0, r.unique());
        // 10 bytes: the unique's first two bytes and zeros, not the FORGET's unique behind them
        byte[] part = Arrays.copyOf(Req.op(GETATTR, 0x0102L, 1).build(), 10);
        assertEquals(
                0x0102L, send(part, new int[] {4}).assertError(Errno.EINVAL).unique());
        assertTrue(fs.calls.size() == 1 && fs.last().startsWith("forget 9"), fs.calls.toString());
    }

    @Test
    void argumentsUpToTheBufferAreReadOneMoreIsEinval() {
        int cap = RequestDecoder.ARGS_CAP;
        send(Req.op(STATFS, 1).zeros(cap + 1).build()).assertError(Errno.EINVAL);
        assertTrue(fs.calls.isEmpty(), fs.calls.toString());
        send(Req.op(STATFS, 1).zeros(cap).build()).assertOk(STATFS_OUT);
        assertEquals("statfs 1", fs.last());
        // a name filling the buffer is read in full: too long, not missing
        send(Req.op(LOOKUP, 1).str("x".repeat(cap - 1)).build()).assertError(Errno.ENAMETOOLONG);
    }

    @Test
    void fuzzNeverEscapesOrOverflows() {
        Random rnd = new Random(42);
        byte[][] seeds = {
            Req.op(LOOKUP, 1).str("name").build(),
            Req.op(SETATTR, 1).zeros(88).build(),
            Req.op(RENAME2, 1).u64(1).u32(0).u32(0).str("a").str("b").build(),
            Req.op(WRITE, 1)
                    .u64(0)
                    .u64(0)
                    .u32(10)
                    .u32(0)
                    .u64(0)
                    .u32(0)
                    .u32(0)
                    .zeros(10)
                    .build(),
            Req.op(READ, 1).u64(0).u64(0).u32(100).u32(0).u64(0).u32(0).u32(0).build(),
            Req.op(READDIRPLUS, 1)
                    .u64(0)
                    .u64(0)
                    .u32(4096)
                    .u32(0)
                    .u64(0)
                    .u32(0)
                    .u32(0)
                    .build(),
            Req.op(SETXATTR, 1)
                    .u32(3)
                    .u32(0)
                    .str("user.a")
                    .bytes("xyz".getBytes(StandardCharsets.UTF_8))
                    .build(),
            Req.op(BATCH_FORGET, 0).u32(2).u32(0).u64(5).u64(1).u64(6).u64(1).build(),
            Req.op(GETXATTR, 1).u32(64).u32(0).str("user.a").build(),
            Req.op(SYMLINK, 1).str("l").str("t").build(),
            initRequest(7, 38, -1, -1),
        };
        for (int iter = 0; iter < 4000; iter++) {
            byte[] req = seeds[rnd.nextInt(seeds.length)].clone();
            int mutations = rnd.nextInt(4);
            for (int m = 0; m < mutations; m++) {
                switch (rnd.nextInt(4)) {
                    case 0 -> {
                        if (req.length > 0) {
                            req[rnd.nextInt(req.length)] = (byte) rnd.nextInt();
                        }
                    }
                    case 1 -> req = Arrays.copyOf(req, rnd.nextInt(req.length + 1));
                    case 2 -> req = Arrays.copyOf(req, req.length + rnd.nextInt(20));
                    default -> {
                        // keep the header's len consistent sometimes, so deeper paths are reached
                        if (req.length >= 4) {
                            java.nio.ByteBuffer.wrap(req)
                                    .order(java.nio.ByteOrder.LITTLE_ENDIAN)
                                    .putInt(0, req.length);
                        }
                    }
                }
            }
            int[] cuts = new int[rnd.nextInt(5)];
            for (int i = 0; i < cuts.length; i++) {
                cuts[i] = rnd.nextInt(50);
            }
            int[] outs = new int[1 + rnd.nextInt(4)];
            for (int i = 0; i < outs.length; i++) {
                outs[i] = rnd.nextInt(rnd.nextBoolean() ? 40 : 5000);
            }
            Reply r = send(req, cuts, outs); // asserts bounds and guards
            if (r.returned > 0) {
                assertTrue(r.error() <= 0 && r.error() > -4096, "error " + r.error());
            }
        }
        assertTrue(server.requestCounts()[0] + server.requestCounts()[LOOKUP] > 0);
    }
}
