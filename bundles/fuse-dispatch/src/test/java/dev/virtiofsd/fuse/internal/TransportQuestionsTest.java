package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.fuse.internal.FuseProtocol.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.Errno;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** What a transport asks the worker instead of reading FUSE itself: may it block, and answer this with an error. */
class TransportQuestionsTest extends Fixture {
    private static byte[] lock(int opcode) {
        return Req.op(opcode, 5)
                .u64(7)
                .u64(99)
                .u64(0)
                .u64(-1L)
                .u32(1)
                .u32(1234)
                .u32(0)
                .u32(0)
                .build();
    }

    @Test
    void onlyASleepingLockMayBlock() {
        assertTrue(worker.mayBlock(TestSegments.split(lock(SETLKW), IN_CUTS)));
        assertFalse(worker.mayBlock(TestSegments.split(lock(SETLK), IN_CUTS)));
        assertFalse(worker.mayBlock(TestSegments.split(lock(GETLK), IN_CUTS)));
        assertFalse(worker.mayBlock(TestSegments.split(Req.op(READ, 1).zeros(40).build(), IN_CUTS)));
        // a header cut short is not a lock request, whatever its opcode bytes say
        byte[] shortLock = Arrays.copyOf(lock(SETLKW), IN_HEADER - 1);
        assertFalse(worker.mayBlock(TestSegments.split(shortLock, 3, 17)));
        assertFalse(worker.mayBlock(TestSegments.ofLengths()));
        assertTrue(fs.calls.isEmpty(), "asking serves nothing");
    }

    @Test
    void anErrorReplyCarriesTheUniqueAndTheErrno() {
        byte[] req = lock(SETLKW);
        TestSegments in = TestSegments.split(req, IN_CUTS);
        TestSegments out = TestSegments.ofLengths(OUT_LENS);
        assertEquals(16, worker.replyError(in, out, Errno.ENOLCK));
        Reply r = new Reply(16, out.bytes(), in, out);
        r.assertError(Errno.ENOLCK);
        assertEquals(77, r.unique());
        in.assertGuardsIntact();
        out.assertGuardsIntact();
        assertTrue(fs.calls.isEmpty(), "the request was not served");
    }

    @Test
    void anErrorReplyNeedsNoMoreThanWhatWasReadable() {
        // the transport could map only 10 bytes of the request: the unique is unknown, 0
        byte[] part = Arrays.copyOf(lock(SETLK), 10);
        TestSegments out = TestSegments.ofLengths(16);
        assertEquals(16, worker.replyError(TestSegments.split(part, 4), out, Errno.EIO));
        Reply r = new Reply(16, out.bytes(), null, out);
        r.assertError(Errno.EIO);
        assertEquals(0, r.unique());
        out.assertGuardsIntact();
    }

    @Test
    void noErrorReplyWhereNoneFitsOrNoneIsExpected() {
        TestSegments small = TestSegments.ofLengths(15);
        assertEquals(0, worker.replyError(TestSegments.split(lock(SETLK), IN_CUTS), small, Errno.EIO));
        assertEquals(TestSegments.FILL_BYTE, small.bytes()[0], "nothing written");
        byte[] forget = Req.op(FORGET, 5).u64(1).build();
        TestSegments out = TestSegments.ofLengths(OUT_LENS);
        assertEquals(0, worker.replyError(TestSegments.split(forget, IN_CUTS), out, Errno.EIO));
    }

    @Test
    void aHeaderOfExactly40BytesIsALockRequest() {
        byte[] header = Arrays.copyOf(lock(SETLKW), IN_HEADER);
        assertTrue(worker.mayBlock(TestSegments.split(header, 3, 17)));
    }

    @Test
    void sixteenReadableBytesHoldTheUniqueAndFewerHoldNoStaleOpcode() {
        TestSegments out = TestSegments.ofLengths(16);
        assertEquals(16, worker.replyError(TestSegments.split(Arrays.copyOf(lock(SETLK), 16), 5), out, Errno.EIO));
        Reply r = new Reply(16, out.bytes(), null, out);
        r.assertError(Errno.EIO);
        assertEquals(77, r.unique());
        // after a FORGET (no reply) went through this worker, 3 readable bytes are no FORGET
        byte[] forget = Req.op(FORGET, 5).u64(1).build();
        assertEquals(0, worker.handle(TestSegments.split(forget, IN_CUTS), TestSegments.ofLengths(OUT_LENS)));
        out = TestSegments.ofLengths(16);
        assertEquals(16, worker.replyError(TestSegments.split(Arrays.copyOf(lock(SETLK), 3), 1), out, Errno.EIO));
        new Reply(16, out.bytes(), null, out).assertError(Errno.EIO);
        out.assertGuardsIntact();
    }
}
