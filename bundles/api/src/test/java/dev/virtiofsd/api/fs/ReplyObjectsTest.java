package dev.virtiofsd.api.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The reusable per-worker objects: a reset must leave nothing of the previous request behind. */
class ReplyObjectsTest {
    @Test
    void entryClearResetsEveryFieldAndTheAttr() {
        EntryOut e = new EntryOut();
        e.nodeId = 5;
        e.generation = 6;
        e.entryTimeoutNanos = 7;
        e.attrTimeoutNanos = 8;
        Attr a = e.attr;
        a.ino = a.size = a.blocks = a.atime = a.mtime = a.ctime = 9;
        a.atimensec = a.mtimensec = a.ctimensec = a.mode = a.nlink = a.uid = a.gid = a.rdev = a.blksize = a.flags = 10;
        e.clear();
        assertEquals(0, e.nodeId + e.generation + e.entryTimeoutNanos + e.attrTimeoutNanos);
        assertEquals(0, a.ino + a.size + a.blocks + a.atime + a.mtime + a.ctime);
        assertEquals(
                0,
                a.atimensec
                        + a.mtimensec
                        + a.ctimensec
                        + a.mode
                        + a.nlink
                        + a.uid
                        + a.gid
                        + a.rdev
                        + a.blksize
                        + a.flags);
    }

    @Test
    void requestContextSetForgetsThePreviousRequestsExtras() {
        RequestContext c = new RequestContext();
        assertFalse(c.hasSecctx(), "none until a request brings one");
        c.set(1, 2, 3, 4);
        c.killSuidGid = true;
        c.setxattrFlags = RequestContext.SETXATTR_ACL_KILL_SGID;
        c.secctxName = 100;
        c.secctxValue = 200;
        c.secctxSize = 0;
        assertTrue(c.hasSecctx(), "an empty context is still a context");
        c.set(11, 12, 13, 14);
        assertEquals(11, c.unique);
        assertEquals(12, c.uid);
        assertEquals(13, c.gid);
        assertEquals(14, c.pid);
        assertFalse(c.killSuidGid);
        assertEquals(0, c.setxattrFlags);
        assertFalse(c.hasSecctx());
        assertEquals(0, c.secctxName + c.secctxValue);
    }

    @Test
    void setattrValidBits() {
        SetattrIn s = new SetattrIn();
        s.valid = SetattrIn.FATTR_SIZE | SetattrIn.FATTR_MTIME_NOW;
        assertTrue(s.has(SetattrIn.FATTR_SIZE));
        assertTrue(s.has(SetattrIn.FATTR_MTIME_NOW));
        assertFalse(s.has(SetattrIn.FATTR_MTIME));
        // fuse.h FATTR_* numbers
        assertEquals(1 << 3, SetattrIn.FATTR_SIZE);
        assertEquals(1 << 9, SetattrIn.FATTR_LOCKOWNER);
        assertEquals(1 << 11, SetattrIn.FATTR_KILL_SUIDGID);
    }

    @Test
    void segmentListTotalsItsSegments() {
        SegmentList three = new SegmentList() {
            @Override
            public int count() {
                return 3;
            }

            @Override
            public long address(int i) {
                return 0x1000L * i;
            }

            @Override
            public int length(int i) {
                return 100 * (i + 1);
            }
        };
        assertEquals(600, three.totalLength());
    }
}
