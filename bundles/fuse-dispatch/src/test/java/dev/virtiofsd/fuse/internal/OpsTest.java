package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.api.fs.InitFlags.*;
import static dev.virtiofsd.fuse.internal.FuseProtocol.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.OpenOut;
import dev.virtiofsd.api.fs.SetattrIn;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class OpsTest extends Fixture {

    @BeforeEach
    void initSession() {
        init(38);
        fs.calls.clear();
    }

    private static void assertEntry(Reply r, int off, long nodeId) {
        assertEquals(nodeId, r.u64(off), "nodeid");
        assertEquals(7, r.u64(off + 8), "generation");
        assertEquals(1, r.u64(off + 16), "entry_valid");
        assertEquals(2, r.u64(off + 24), "attr_valid");
        assertEquals(500_000_000, r.u32(off + 32), "entry_valid_nsec");
        assertEquals(1, r.u32(off + 36), "attr_valid_nsec");
        int a = off + 40;
        assertEquals(nodeId + 1000, r.u64(a), "ino");
        assertEquals(1234, r.u64(a + 8), "size");
        assertEquals(8, r.u64(a + 16), "blocks");
        assertEquals(11, r.u64(a + 24));
        assertEquals(12, r.u64(a + 32));
        assertEquals(13, r.u64(a + 40));
        assertEquals(21, r.u32(a + 48));
        assertEquals(22, r.u32(a + 52));
        assertEquals(23, r.u32(a + 56));
        assertEquals(0100644, r.u32(a + 60), "mode");
        assertEquals(1, r.u32(a + 64), "nlink");
        assertEquals(1000, r.u32(a + 68));
        assertEquals(1001, r.u32(a + 72));
        assertEquals(0, r.u32(a + 76));
        assertEquals(4096, r.u32(a + 80));
        assertEquals(1, r.u32(a + 84), "attr flags (SUBMOUNT)");
    }

    @Test
    void lookupEncodesEntryOverStraddlingSegments() {
        byte[] req = Req.op(LOOKUP, 0x1122334455667788L, 1).str("hello").build();
        // every split point of the header and the name, reply header split too
        for (int cut = 1; cut < req.length; cut += 3) {
            Reply r = send(req, new int[] {cut, 1, 2}, 3, 1, 11, 2, 300).assertOk(128);
            assertEquals(0x1122334455667788L, r.unique());
            assertEntry(r, 0, 100);
            assertEquals("lookup 1 hello uid=1000 gid=1001 pid=4242 unique=" + 0x1122334455667788L, fs.last());
        }
    }

    @Test
    void lookupAllowsDotsButNotSlash() {
        send(Req.op(LOOKUP, 1).str(".").build()).assertOk(128);
        send(Req.op(LOOKUP, 1).str("..").build()).assertOk(128);
        assertEquals(
                List.of(
                        "lookup 1 . uid=1000 gid=1001 pid=4242 unique=77",
                        "lookup 1 .. uid=1000 gid=1001 pid=4242 unique=77"),
                fs.calls);
    }

    @Test
    void errnoExceptionBecomesMinusErrno() {
        fs.failNext = ErrnoException.of(Errno.ENOENT);
        send(Req.op(LOOKUP, 1).str("missing").build()).assertError(Errno.ENOENT);
        fs.failNext = ErrnoException.of(Errno.EACCES, "with message");
        send(Req.op(UNLINK, 1).str("x").build()).assertError(Errno.EACCES);
    }

    @Test
    void otherThrowablesBecomeEio() {
        fs.failNext = new IllegalStateException("bug in fs");
        send(Req.op(LOOKUP, 1).str("x").build()).assertError(Errno.EIO);
        fs.failNext = new StackOverflowError();
        send(Req.op(GETATTR, 1).u32(0).u32(0).u64(0).build()).assertError(Errno.EIO);
        // the worker is still fine
        send(Req.op(LOOKUP, 1).str("x").build()).assertOk(128);
    }

    @Test
    void getattrPassesFhOnlyWithFlag() {
        Reply r = send(Req.op(GETATTR, 5).u32(0).u32(0).u64(42).build()).assertOk(104);
        assertEquals("getattr 5 fh=-1", fs.last());
        assertEquals(3, r.u64(0), "attr_valid");
        assertEquals(5, r.u32(8), "attr_valid_nsec");
        assertEquals(1005, r.u64(16), "ino");
        assertEquals(0100644, r.u32(16 + 60));
        assertEquals(2, r.u32(16 + 64));
        send(Req.op(GETATTR, 5).u32(GETATTR_FH).u32(0).u64(42).build()).assertOk(104);
        assertEquals("getattr 5 fh=42", fs.last());
    }

    @Test
    void setattrDecodesEveryField() {
        int valid =
                SetattrIn.FATTR_MODE | SetattrIn.FATTR_SIZE | SetattrIn.FATTR_ATIME_NOW | SetattrIn.FATTR_KILL_SUIDGID;
        byte[] req = Req.op(SETATTR, 9)
                .u32(valid)
                .u32(0)
                .u64(1)
                .u64(2)
                .u64(3)
                .u64(4)
                .u64(5)
                .u64(6)
                .u32(7)
                .u32(8)
                .u32(9)
                .u32(0755)
                .u32(0)
                .u32(11)
                .u32(12)
                .u32(0)
                .build();
        Reply r = send(req).assertOk(104);
        SetattrIn s = fs.lastSetattr;
        assertEquals(valid, s.valid);
        assertEquals(1, s.fh);
        assertEquals(2, s.size);
        assertEquals(3, s.lockOwner);
        assertEquals(4, s.atime);
        assertEquals(5, s.mtime);
        assertEquals(6, s.ctime);
        assertEquals(7, s.atimensec);
        assertEquals(8, s.mtimensec);
        assertEquals(9, s.ctimensec);
        assertEquals(0755, s.mode);
        assertEquals(11, s.uid);
        assertEquals(12, s.gid);
        assertEquals(2, r.u64(16 + 8), "size in reply");
    }

    @Test
    void readlinkRepliesTargetWithoutNul() {
        Reply r = send(Req.op(READLINK, 3).build()).assertOk(fs.linkTarget.length());
        assertEquals(fs.linkTarget, new String(r.body(), StandardCharsets.UTF_8));
        assertEquals("readlink 3 cap=4096", fs.last());
    }

    @Test
    void nameCreatingOps() {
        assertEntry(send(Req.op(SYMLINK, 1).str("ln").str("../x/y").build()).assertOk(128), 0, 101);
        assertEquals("symlink 1 ln -> ../x/y", fs.last());
        send(Req.op(MKNOD, 1)
                        .u32(0010644)
                        .u32(0x0801)
                        .u32(022)
                        .u32(0)
                        .str("fifo")
                        .build())
                .assertOk(128);
        assertEquals("mknod 1 fifo mode=10644 rdev=2049 umask=22", fs.last());
        send(Req.op(MKDIR, 1).u32(0755).u32(022).str("dir").build()).assertOk(128);
        assertEquals("mkdir 1 dir mode=755 umask=22", fs.last());
        send(Req.op(LINK, 2).u64(50).str("hard").build()).assertOk(128);
        assertEquals("link 50 2 hard", fs.last());
        send(Req.op(UNLINK, 1).str("gone").build()).assertOk(0);
        assertEquals("unlink 1 gone", fs.last());
        send(Req.op(RMDIR, 1).str("gonedir").build()).assertOk(0);
        assertEquals("rmdir 1 gonedir", fs.last());
        send(Req.op(RENAME, 1).u64(2).str("old").str("new").build()).assertOk(0);
        assertEquals("rename 1 old 2 new flags=0", fs.last());
        send(Req.op(RENAME2, 1).u64(3).u32(2).u32(0).str("a").str("b").build()).assertOk(0);
        assertEquals("rename 1 a 3 b flags=2", fs.last());
    }

    @Test
    void createAndTmpfileReplyEntryPlusOpen() {
        Reply r = send(Req.op(CREATE, 1)
                        .u32(0101)
                        .u32(0100640)
                        .u32(022)
                        .u32(0)
                        .str("new")
                        .build())
                .assertOk(144);
        assertEquals("create 1 new mode=100640 flags=101 umask=22", fs.last());
        assertEntry(r, 0, 104);
        assertEquals(556, r.u64(128));
        assertEquals(OpenOut.DIRECT_IO, r.u32(136));
        // the kernel sends its placeholder name "/" with TMPFILE: ignored, not an error
        r = send(Req.op(TMPFILE, 1)
                        .u32(02)
                        .u32(0100600)
                        .u32(077)
                        .u32(0)
                        .str("/")
                        .build())
                .assertOk(144);
        assertEquals("tmpfile 1 mode=100600 flags=2 umask=77", fs.last());
        assertEquals(557, r.u64(128));
    }

    @Test
    void openAndOpendir() {
        Reply r = send(Req.op(OPEN, 4).u32(02).u32(0).build()).assertOk(16);
        assertEquals("open 4 flags=2", fs.last());
        assertEquals(555, r.u64(0));
        assertEquals(OpenOut.KEEP_CACHE, r.u32(8));
        r = send(Req.op(OPENDIR, 4).u32(0).u32(0).build()).assertOk(16);
        assertEquals(600, r.u64(0));
        assertEquals(OpenOut.CACHE_DIR, r.u32(8));
    }

    @Test
    void flushReleaseFsync() {
        send(Req.op(FLUSH, 4).u64(9).u32(0).u32(0).u64(77).build()).assertOk(0);
        assertEquals("flush 4 fh=9 owner=77", fs.last());
        send(Req.op(RELEASE, 4).u64(9).u32(02).u32(RELEASE_FLOCK_UNLOCK).u64(78).build())
                .assertOk(0);
        assertEquals("release 4 fh=9 flags=2 owner=78 flock=true", fs.last());
        send(Req.op(RELEASE, 4).u64(9).u32(0).u32(1).u64(78).build()).assertOk(0);
        assertEquals("release 4 fh=9 flags=0 owner=78 flock=false", fs.last());
        send(Req.op(RELEASEDIR, 4).u64(10).u32(0).u32(0).u64(0).build()).assertOk(0);
        assertEquals("releasedir 4 fh=10", fs.last());
        send(Req.op(FSYNC, 4).u64(9).u32(1).u32(0).build()).assertOk(0);
        assertEquals("fsync 4 fh=9 datasync=true", fs.last());
        send(Req.op(FSYNCDIR, 4).u64(10).u32(0).u32(0).build()).assertOk(0);
        assertEquals("fsyncdir 4 fh=10 datasync=false", fs.last());
    }

    @Test
    void statfsAccessSyncfs() {
        Reply r = send(Req.op(STATFS, 1).build()).assertOk(80);
        assertEquals(1, r.u64(0));
        assertEquals(5, r.u64(32));
        assertEquals(4096, r.u32(40));
        assertEquals(255, r.u32(44));
        assertEquals(512, r.u32(48));
        send(Req.op(ACCESS, 2).u32(4).u32(0).build()).assertOk(0);
        assertEquals("access 2 mask=4", fs.last());
        send(Req.op(SYNCFS, 1).u64(0).build()).assertOk(0);
        assertEquals("syncfs 1", fs.last());
    }

    @Test
    void xattrs() {
        // SETXATTR_EXT was negotiated (the fixture's INIT offers it): the 16-byte fuse_setxattr_in
        send(Req.op(SETXATTR, 2)
                        .u32(5)
                        .u32(1)
                        .u32(0)
                        .u32(0)
                        .str("user.k/with/slash")
                        .bytes("vwxyz".getBytes(StandardCharsets.UTF_8))
                        .build())
                .assertOk(0);
        assertEquals("setxattr 2 user.k/with/slash=vwxyz flags=1", fs.last());
        send(Req.op(SETXATTR, 2)
                        .u32(2)
                        .u32(0)
                        .u32(1)
                        .u32(0)
                        .str("system.posix_acl_access")
                        .bytes("ab".getBytes(StandardCharsets.UTF_8))
                        .build())
                .assertOk(0);
        assertEquals("setxattr 2 system.posix_acl_access=ab flags=0 setxattr-flags=1", fs.last());

        Reply r = send(Req.op(GETXATTR, 2).u32(0).u32(0).str("user.k").build()).assertOk(8);
        assertEquals(fs.xattrValue.length, r.u32(0));
        assertEquals("getxattr 2 user.k cap=0", fs.last());
        r = send(Req.op(GETXATTR, 2).u32(100).u32(0).str("user.k").build()).assertOk(fs.xattrValue.length);
        assertEquals("hello-value", new String(r.body(), StandardCharsets.UTF_8));
        send(Req.op(GETXATTR, 2).u32(3).u32(0).str("user.k").build()).assertError(Errno.ERANGE);

        r = send(Req.op(LISTXATTR, 2).u32(0).u32(0).build()).assertOk(8);
        assertEquals(fs.xattrList.length, r.u32(0));
        r = send(Req.op(LISTXATTR, 2).u32(4096).u32(0).build()).assertOk(fs.xattrList.length);
        assertEquals("user.a\0user.bb\0", new String(r.body(), StandardCharsets.UTF_8));

        send(Req.op(REMOVEXATTR, 2).str("user.k").build()).assertOk(0);
        assertEquals("removexattr 2 user.k", fs.last());
    }

    @Test
    void setxattrValueLongerThanRequestIsEinval() {
        send(Req.op(SETXATTR, 2)
                        .u32(50)
                        .u32(0)
                        .str("user.k")
                        .bytes("short".getBytes(StandardCharsets.UTF_8))
                        .build())
                .assertError(Errno.EINVAL);
        assertTrue(fs.calls.isEmpty());
    }

    @Test
    void locks() {
        Reply r = send(Req.op(GETLK, 3)
                        .u64(9)
                        .u64(0xabc)
                        .u64(0)
                        .u64(100)
                        .u32(1)
                        .u32(55)
                        .u32(0)
                        .u32(0)
                        .build())
                .assertOk(24);
        assertEquals("getlk 3 fh=9 owner=2748 0-100 type=1 pid=55", fs.last());
        assertEquals(10, r.u64(0));
        assertEquals(20, r.u64(8));
        assertEquals(1, r.u32(16));
        assertEquals(99, r.u32(20));
        send(Req.op(SETLK, 3)
                        .u64(9)
                        .u64(1)
                        .u64(5)
                        .u64(6)
                        .u32(0)
                        .u32(1)
                        .u32(0)
                        .u32(0)
                        .build())
                .assertOk(0);
        assertEquals("setlk 3 fh=9 owner=1 5-6 type=0 flock=false sleep=false", fs.last());
        send(Req.op(SETLKW, 3)
                        .u64(9)
                        .u64(1)
                        .u64(0)
                        .u64(-1)
                        .u32(1)
                        .u32(1)
                        .u32(LK_FLOCK)
                        .u32(0)
                        .build())
                .assertOk(0);
        assertEquals("setlk 3 fh=9 owner=1 0--1 type=1 flock=true sleep=true", fs.last());
    }

    @Test
    void fallocateLseekCopyFileRange() {
        send(Req.op(FALLOCATE, 3).u64(9).u64(100).u64(200).u32(1).u32(0).build())
                .assertOk(0);
        assertEquals("fallocate 3 fh=9 mode=1 off=100 len=200", fs.last());
        Reply r = send(Req.op(LSEEK, 3).u64(9).u64(100).u32(3).u32(0).build()).assertOk(8);
        assertEquals(4196, r.u64(0));
        assertEquals("lseek 3 fh=9 off=100 whence=3", fs.last());
        r = send(Req.op(COPY_FILE_RANGE, 3)
                        .u64(9)
                        .u64(1)
                        .u64(4)
                        .u64(10)
                        .u64(2)
                        .u64(4096)
                        .u64(0)
                        .build())
                .assertOk(8);
        assertEquals("copy 3 9 1 -> 4 10 2 len=4096 flags=0", fs.last());
        assertEquals(4096, r.u32(0));
        // lengths beyond the u32 reply are capped as the kernel does
        send(Req.op(COPY_FILE_RANGE, 3)
                        .u64(9)
                        .u64(1)
                        .u64(4)
                        .u64(10)
                        .u64(2)
                        .u64(1L << 40)
                        .u64(0)
                        .build())
                .assertOk(8);
        assertEquals("copy 3 9 1 -> 4 10 2 len=" + 0xFFFFF000L + " flags=0", fs.last());
        fs.copyResult = 1L << 33; // a filesystem bug: more than asked
        send(Req.op(COPY_FILE_RANGE, 3)
                        .u64(9)
                        .u64(1)
                        .u64(4)
                        .u64(10)
                        .u64(2)
                        .u64(10)
                        .u64(0)
                        .build())
                .assertError(Errno.EIO);
    }

    @Test
    void forgetBatchForgetInterruptHaveNoReply() {
        assertEquals(0, send(Req.op(FORGET, 12).u64(3).build()).returned);
        assertEquals("forget 12 3", fs.last());
        fs.calls.clear();
        Req b = Req.op(BATCH_FORGET, 0).u32(3).u32(0);
        for (int i = 1; i <= 3; i++) {
            b.u64(20 + i).u64(i);
        }
        Reply r = send(b.build(), new int[] {41, 6, 17, 9});
        assertEquals(0, r.returned);
        assertEquals(List.of("forget 21 1", "forget 22 2", "forget 23 3"), fs.calls);
        for (byte x : r.out.bytes()) {
            assertEquals(TestSegments.FILL_BYTE, x, "nothing written for a no-reply request");
        }
        assertEquals(0, send(Req.op(INTERRUPT, 0).u64(77).build()).returned);
    }

    @Test
    void hugeBatchForgetStreamsThroughTheBuffer() {
        int n = 10_000; // 160 KB of entries: more than the worker's copy buffer
        Req b = Req.op(BATCH_FORGET, 0).u32(n).u32(0);
        for (int i = 0; i < n; i++) {
            b.u64(i + 2).u64(1);
        }
        fs.calls.clear();
        assertEquals(0, send(b.build(), new int[] {100, 70000, 3}).returned);
        assertEquals(n, fs.calls.size());
        assertEquals("forget " + (n + 1) + " 1", fs.last());
    }

    @Test
    void batchForgetCountBeyondPayloadForgetsWhatIsThere() {
        fs.calls.clear();
        assertEquals(0, send(Req.op(BATCH_FORGET, 0).u32(5).u32(0).u64(9).u64(1).build()).returned);
        assertEquals(List.of("forget 9 1"), fs.calls);
    }

    @Test
    void unsupportedOpcodesAreEnosys() {
        for (int op :
                new int[] {7, 19, BMAP, IOCTL, POLL, NOTIFY_REPLY, SETUPMAPPING, REMOVEMAPPING, 52, 63, 64, 4096, -1}) {
            send(Req.op(op, 1).zeros(64).build()).assertError(Errno.ENOSYS);
        }
        assertTrue(fs.calls.isEmpty());
    }
}
