package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.api.fs.InitFlags.*;
import static dev.virtiofsd.fuse.internal.FuseProtocol.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.Errno;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class InitTest extends Fixture {

    @Test
    void init731RepliesMinor31AndFullInitOut() {
        fs.wantedFlags = ASYNC_READ | DO_READDIRPLUS | SPLICE_READ | POSIX_LOCKS;
        int kernel = (int) (ASYNC_READ | DO_READDIRPLUS | SPLICE_READ | MAX_PAGES | BIG_WRITES);
        Reply r = send(initRequest(7, 31, kernel, 0)).assertOk(64);
        assertEquals(1, r.unique());
        assertEquals(7, r.u32(0));
        assertEquals(31, r.u32(4));
        assertEquals(131072, r.u32(8), "max_readahead echoes the kernel's");
        // SPLICE_READ is not ours to give, POSIX_LOCKS not offered; MAX_PAGES/BIG_WRITES are dispatcher-owned
        assertEquals(ASYNC_READ | DO_READDIRPLUS | MAX_PAGES | BIG_WRITES, r.u32(12) & 0xffffffffL);
        assertEquals(MAX_WRITE, r.u32(20), "max_write");
        assertEquals(1, r.u32(24), "time_gran");
        assertEquals(MAX_WRITE / 4096, r.u16(28), "max_pages");
        assertEquals(0, r.u32(32), "flags2");
        for (int off = 36; off < 64; off += 4) {
            assertEquals(0, r.u32(off), "unused at " + off);
        }
        assertTrue(session.initialized());
        assertEquals(31, ((FuseSessionImpl) session).minor());
        assertEquals(kernel & 0xffffffffL, fs.kernelFlagsSeen);
    }

    @Test
    void init740RepliesMinor38() {
        Reply r = init(40);
        assertEquals(7, r.u32(0));
        assertEquals(38, r.u32(4));
    }

    @Test
    void initExtHighWordReachesFsAndGrantedHighFlagsGoToFlags2() {
        fs.wantedFlags = -1L;
        int low = (int) (INIT_EXT | ASYNC_READ);
        Reply r = send(initRequest(7, 38, low, 0b11)).assertOk(64);
        assertEquals(ASYNC_READ | INIT_EXT | SECURITY_CTX | HAS_INODE_DAX, fs.kernelFlagsSeen);
        assertEquals(ASYNC_READ | INIT_EXT, r.u32(12) & 0xffffffffL, "INIT_EXT marks flags2 as meant");
        assertEquals(1, r.u32(32), "flags2: SECURITY_CTX granted, HAS_INODE_DAX (no DAX window) not");
    }

    @Test
    void noHighFlagsNoInitExt() {
        fs.wantedFlags = ASYNC_READ;
        Reply r = send(initRequest(7, 38, (int) (INIT_EXT | ASYNC_READ), 0b11)).assertOk(64);
        assertEquals(ASYNC_READ, r.u32(12) & 0xffffffffL);
        assertEquals(0, r.u32(32), "flags2");
    }

    @Test
    void flags2IgnoredWithoutInitExt() {
        send(initRequest(7, 38, (int) ASYNC_READ, 0b11)).assertOk(64);
        assertEquals(ASYNC_READ, fs.kernelFlagsSeen);
    }

    @Test
    void noMaxPagesWhenKernelDoesNotOfferIt() {
        Reply r = send(initRequest(7, 38, (int) ASYNC_READ, 0)).assertOk(64);
        assertEquals(0, r.u32(12) & MAX_PAGES);
        assertEquals(0, r.u16(28));
    }

    @Test
    void major8GetsMajor7AndStaysUninitialized() {
        Reply r = send(initRequest(8, 0, 0, 0)).assertOk(64);
        assertEquals(7, r.u32(0));
        assertFalse(session.initialized());
        assertTrue(fs.calls.isEmpty(), "no negotiation yet");
        // the kernel retries with 7.x
        init(38);
        assertTrue(session.initialized());
    }

    @Test
    void minor30IsRefusedWithEproto() {
        send(initRequest(7, 30, 0, 0)).assertError(FuseWorkerImpl.EPROTO);
        assertFalse(session.initialized());
        send(initRequest(6, 40, 0, 0)).assertError(FuseWorkerImpl.EPROTO);
    }

    @Test
    void shortInitInIsEinval() {
        send(Req.op(INIT, 0).u32(7).u32(38).build()).assertError(Errno.EINVAL);
        assertFalse(session.initialized());
    }

    @Test
    void requestBeforeInitIsEio() {
        send(Req.op(GETATTR, 1).u32(0).u32(0).u64(0).build()).assertError(Errno.EIO);
        assertEquals(0, send(Req.op(FORGET, 5).u64(1).build()).returned, "FORGET still gets no reply");
        assertTrue(fs.calls.isEmpty(), fs.calls.toString());
    }

    @Test
    void secondInitRestartsTheSession() {
        // a guest that reboots keeps the vhost-user connection and sends INIT again, without DESTROY
        init(38);
        send(Req.op(LOOKUP, 1).str("name").build()).assertOk(128);
        assertEquals(0, fs.destroyed);
        send(initRequest(7, 37, 0, 0)).assertOk(64);
        assertEquals(1, fs.destroyed, "the old client's inodes are released first");
        assertEquals(37, ((FuseSessionImpl) session).minor(), "negotiated afresh");
        assertTrue(session.initialized());
        send(Req.op(LOOKUP, 1).str("name").build()).assertOk(128);
        // a DESTROY afterwards releases the new client's inodes once more
        send(Req.op(DESTROY, 1).build()).assertOk(0);
        assertEquals(2, fs.destroyed);
    }

    @Test
    void aMalformedSecondInitStillReleasesTheOldClient() {
        init(38);
        send(Req.op(INIT, 0).u32(7).u32(38).build()).assertError(Errno.EINVAL);
        assertEquals(1, fs.destroyed);
        assertFalse(session.initialized(), "requests before a good INIT get EIO again");
    }

    @Test
    void minor37IgnoresHeaderPadding() {
        init(37);
        // 7.37 header ends in u32 padding: garbage there must not be read as total_extlen
        Reply r = send(Req.op(LOOKUP, 1).str("name").headerTail(0xffffffff).build())
                .assertOk(128);
        assertEquals(100, r.u64(0));
        assertEquals("lookup 1 name uid=1000 gid=1001 pid=4242 unique=77", fs.last());
    }

    @Test
    void minor38StripsExtensions() {
        init(38);
        // one 8-byte extension after the name; the name region ends before it
        byte[] req = Req.op(LOOKUP, 1).str("abc").u32(8).u32(1000).headerTail(1).build();
        send(req).assertOk(128);
        assertEquals("lookup 1 abc uid=1000 gid=1001 pid=4242 unique=77", fs.last());
        // the NUL is only inside the extension: the name is not terminated within the args
        fs.calls.clear();
        byte[] bad = Req.op(LOOKUP, 1)
                .bytes("abcdefgh".getBytes(StandardCharsets.UTF_8))
                .u32(0)
                .u32(0)
                .headerTail(1)
                .build();
        send(bad).assertError(Errno.EINVAL);
        assertTrue(fs.calls.isEmpty());
        // extensions longer than the request
        send(Req.op(LOOKUP, 1).str("abc").headerTail(100).build()).assertError(Errno.EINVAL);
    }

    @Test
    void destroyCallsFsOnceAndCloseDoesNotRepeat() {
        init(38);
        send(Req.op(DESTROY, 1).build()).assertOk(0);
        assertEquals(1, fs.destroyed);
        assertFalse(session.initialized());
        session.close();
        assertEquals(1, fs.destroyed);
    }

    @Test
    void remountOnTheSameSessionNegotiatesAgain() {
        init(37);
        send(Req.op(DESTROY, 1).build()).assertOk(0);
        send(Req.op(GETATTR, 1).u32(0).u32(0).u64(0).build()).assertError(Errno.EIO);
        init(38);
        assertEquals(38, ((FuseSessionImpl) session).minor());
        send(Req.op(DESTROY, 1).build()).assertOk(0);
        assertEquals(2, fs.destroyed);
        session.close();
        assertEquals(2, fs.destroyed);
    }

    @Test
    void closeWithoutDestroyDestroys() {
        init(38);
        session.close();
        session.close();
        assertEquals(1, fs.destroyed);
    }

    @Test
    void requestCountsAggregateAcrossWorkersAndClosedSessions() {
        init(38);
        send(Req.op(LOOKUP, 1).str("x").build());
        var w2 = session.newWorker();
        TestSegments in = TestSegments.split(Req.op(LOOKUP, 1).str("y").build());
        w2.handle(in, TestSegments.ofLengths(200));
        send(Req.op(9999, 1).build()).assertError(Errno.ENOSYS);
        long[] c = server.requestCounts();
        assertEquals(1, c[INIT]);
        assertEquals(2, c[LOOKUP]);
        assertEquals(1, c[0], "unknown opcodes");
        session.close();
        assertEquals(2, server.requestCounts()[LOOKUP]);
        assertEquals("LOOKUP", FuseServerImpl.opcodeName(LOOKUP));
        // The RequestStats view: the same counts by name, the ENOSYS as an error, latencies measured.
        var stats = server.byOpcode();
        assertEquals(2, stats.get("LOOKUP").count());
        assertEquals(1, stats.get("OTHER").errors());
        assertTrue(server.latencyMeasured());
        assertTrue(stats.get("INIT").p50Nanos() > 0
                && stats.get("INIT").p50Nanos() <= stats.get("INIT").maxNanos());
    }
}
