package dev.virtiofsd.passthrough.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.identity.FileHandle;
import dev.virtiofsd.api.identity.InodeIdentity;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Test;

class InodeStoreTest {
    private static final int S_IFREG = 0100000;
    private static final int S_IFDIR = 0040000;

    /** An identity without syscalls: an optional handle, pins when it has none (like an fd). */
    static final class FakeIdentity implements InodeIdentity {
        final FileHandle handle;
        final String kind;
        final boolean pins;
        int closed;

        FakeIdentity(FileHandle handle) {
            this(handle, handle == null);
        }

        FakeIdentity(FileHandle handle, boolean pins) {
            this.handle = handle;
            this.pins = pins;
            this.kind = handle == null ? (pins ? "fd" : "ids-only") : "handle";
        }

        @Override
        public String kind() {
            return kind;
        }

        @Override
        public FileHandle handle() {
            return handle;
        }

        @Override
        public boolean pinsInode() {
            return pins;
        }

        @Override
        public int heldFds() {
            return pins ? 1 : 0;
        }

        @Override
        public int acquirePath() {
            return -1;
        }

        @Override
        public void releasePath(int fd) {}

        @Override
        public int open(int flags) {
            return -1;
        }

        @Override
        public void close() {
            closed++;
        }
    }

    /** An ext4-like handle: inode number and generation, little endian. */
    static FileHandle handle(long mnt, int ino, int generation) {
        byte[] b = ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putInt(ino)
                .putInt(generation)
                .array();
        return new FileHandle(mnt, 1, b);
    }

    /** findOrInsert, dropping the caller's reference at once (as a request's scope does). */
    private static Inode insert(InodeStore s, IdsKey ids, InodeIdentity id, int mode) {
        Inode i = s.findOrInsert(ids, id, mode);
        if (i != null) {
            i.release();
        }
        return i;
    }

    private static InodeStore storeWithRoot() {
        InodeStore s = new InodeStore();
        s.setRoot(new IdsKey(2, 10, 20), new FakeIdentity(null), S_IFDIR);
        return s;
    }

    // ---- hash spread -------------------------------------------------------------------

    /** Largest bucket of a power-of-two table of {@code buckets} fed the HashMap-spread hashes. */
    private static int maxBucket(ToIntFunction<FileHandle> hash, int n, int buckets) {
        int[] load = new int[buckets];
        int max = 0;
        for (int gen = 0; gen < n; gen++) {
            int h = hash.applyAsInt(handle(7, 12345, gen));
            h ^= h >>> 16; // what java.util.HashMap does
            int b = h & (buckets - 1);
            max = Math.max(max, ++load[b]);
        }
        return max;
    }

    /**
     * The handle hash of the first file-handle patch for C virtiofsd: {@code hash += hash * 33 + c}
     * over the bytes (the "+=" where "=" was meant), which crowds handles that differ only in
     * their generation into few buckets.
     */
    private static int plusEqualsSlipHash(FileHandle fh) {
        int hash = 5381;
        for (byte c : fh.bytes()) {
            hash += hash * 33 + (c & 0xff);
        }
        return hash;
    }

    @Test
    void handlesDifferingOnlyInGenerationSpreadEvenly() {
        int n = 100_000;
        int buckets = 1 << 14; // ~6.1 per bucket expected
        int max = maxBucket(FileHandle::hashCode, n, buckets);
        // For a uniform hash the largest of 16384 Poisson(6.1) buckets is ~17; 25 is far in the tail.
        assertTrue(max <= 25, "largest bucket " + max);
        // Negative control: that patch's "+=" hash fails the same check, so the check can fail.
        assertTrue(maxBucket(InodeStoreTest::plusEqualsSlipHash, n, buckets) > 25);
    }

    @Test
    void handleEqualityCoversMountTypeAndBytes() {
        assertEquals(handle(1, 5, 9), handle(1, 5, 9));
        assertEquals(handle(1, 5, 9).hashCode(), handle(1, 5, 9).hashCode());
        assertNotEquals(handle(1, 5, 9), handle(2, 5, 9));
        assertNotEquals(handle(1, 5, 9), handle(1, 5, 10));
    }

    // ---- find / insert rules ---------------------------------------------------------------

    @Test
    void fdIdentityIsFoundByIds() {
        InodeStore s = storeWithRoot();
        IdsKey ids = new IdsKey(100, 10, 20);
        FakeIdentity first = new FakeIdentity(null);
        Inode a = insert(s, ids, first, S_IFREG);
        FakeIdentity second = new FakeIdentity(null);
        Inode again = insert(s, new IdsKey(100, 10, 20), second, S_IFREG);
        assertSame(a, again);
        assertEquals(1, second.closed, "the duplicate identity is closed by the store");
        assertEquals(0, first.closed);
        assertEquals(2, s.lookups(a));
        assertTrue(a.nodeId > 1);
    }

    @Test
    void inodeNumberReuseWithNewHandleGivesNewInode() {
        InodeStore s = storeWithRoot();
        IdsKey ids = new IdsKey(100, 10, 20);
        Inode a = insert(s, ids, new FakeIdentity(handle(20, 100, 1)), S_IFREG);
        // File A unlinked on the host, B gets its inode number with a new generation.
        FakeIdentity bId = new FakeIdentity(handle(20, 100, 2));
        Inode b = insert(s, ids, bId, S_IFREG);
        assertNotEquals(a.nodeId, b.nodeId);
        assertSame(bId, b.identity);
        assertEquals(0, bId.closed);
        // A is still reachable by its own handle and node id.
        FakeIdentity aAgain = new FakeIdentity(handle(20, 100, 1));
        assertSame(a, insert(s, ids, aAgain, S_IFREG));
        assertEquals(1, aAgain.closed);
        assertSame(a, s.get(a.nodeId));
        assertSame(b, s.get(b.nodeId));
        // And a new lookup by B's handle finds B, not A.
        assertSame(b, insert(s, ids, new FakeIdentity(handle(20, 100, 2)), S_IFREG));
    }

    @Test
    void idsHitOnHandlelessEntryIsAccepted() {
        InodeStore s = storeWithRoot();
        IdsKey ids = new IdsKey(300, 10, 20);
        // "prefer" fell back to an fd for this inode (no mount fd, say)...
        Inode fdInode = insert(s, ids, new FakeIdentity(null), S_IFREG);
        // ...and a later lookup produced a handle: it must still find the fd inode by ids.
        FakeIdentity withHandle = new FakeIdentity(handle(20, 300, 1));
        assertSame(fdInode, insert(s, ids, withHandle, S_IFREG));
        assertEquals(1, withHandle.closed);
        assertArrayEquals(new int[] {2, 0}, s.mapSizes()); // root + the fd inode; no handles
    }

    @Test
    void idsHitOnEntryWithHandleIsRejectedEvenForFdIdentity() {
        InodeStore s = storeWithRoot();
        IdsKey ids = new IdsKey(400, 10, 20);
        Inode h = insert(s, ids, new FakeIdentity(handle(20, 400, 1)), S_IFREG);
        Inode f = insert(s, ids, new FakeIdentity(null), S_IFREG);
        assertNotEquals(h.nodeId, f.nodeId);
    }

    // ---- counts and cleanup ----------------------------------------------------------------

    @Test
    void forgetToZeroRemovesFromBothMapsAndClosesIdentity() {
        InodeStore s = storeWithRoot();
        IdsKey ids = new IdsKey(100, 10, 20);
        FakeIdentity aId = new FakeIdentity(handle(20, 100, 1));
        Inode a = insert(s, ids, aId, S_IFREG);
        insert(s, ids, new FakeIdentity(handle(20, 100, 1)), S_IFREG); // lookups 2
        assertArrayEquals(new int[] {2, 1}, s.mapSizes());

        s.forget(a.nodeId, 1);
        assertSame(a, s.get(a.nodeId));
        assertEquals(0, aId.closed);

        s.forget(a.nodeId, 1);
        assertNull(s.get(a.nodeId));
        assertEquals(1, aId.closed);
        assertTrue(a.removed);
        assertArrayEquals(new int[] {1, 0}, s.mapSizes(), "gone from the ids AND the handle map");
        // A fresh lookup with the same handle makes a new inode (the old one is not resurrected).
        Inode again = insert(s, ids, new FakeIdentity(handle(20, 100, 1)), S_IFREG);
        assertNotEquals(a.nodeId, again.nodeId);
        s.forget(a.nodeId, 1); // stale forget: no effect
        assertSame(again, s.get(again.nodeId));
        assertEquals(1, aId.closed);
    }

    @Test
    void removingDisplacedInodeKeepsTheNewInodesIdsEntry() {
        InodeStore s = storeWithRoot();
        IdsKey ids = new IdsKey(100, 10, 20);
        Inode a = insert(s, ids, new FakeIdentity(handle(20, 100, 1)), S_IFREG);
        Inode b = insert(s, ids, new FakeIdentity(handle(20, 100, 2)), S_IFREG);
        assertArrayEquals(new int[] {2, 2}, s.mapSizes());
        s.forget(a.nodeId, 1);
        // Only A's handle entry left; the ids entry belongs to B and stays.
        assertArrayEquals(new int[] {2, 1}, s.mapSizes());
        assertSame(b, insert(s, ids, new FakeIdentity(handle(20, 100, 2)), S_IFREG));
        s.forget(b.nodeId, 2);
        assertArrayEquals(new int[] {1, 0}, s.mapSizes());
        assertEquals(1, s.inodes());
    }

    @Test
    void rootIsNeverForgottenAndDestroyKeepsOnlyRoot() {
        InodeStore s = storeWithRoot();
        FakeIdentity x = new FakeIdentity(null);
        FakeIdentity y = new FakeIdentity(handle(20, 6, 1));
        insert(s, new IdsKey(5, 10, 20), x, S_IFREG);
        insert(s, new IdsKey(6, 10, 20), y, S_IFREG);
        assertEquals(3, s.inodes());
        assertEquals(2, s.fds()); // root fd + x
        Map<String, Long> kinds = s.byKind();
        assertEquals(2L, kinds.get("fd"));
        assertEquals(1L, kinds.get("handle"));

        s.forget(1, 1000);
        assertSame(s.root(), s.get(1));

        s.clearAllButRoot();
        assertEquals(1, s.inodes());
        assertEquals(1, s.fds());
        assertEquals(1, x.closed);
        assertEquals(1, y.closed);
        assertArrayEquals(new int[] {1, 0}, s.mapSizes());
        assertFalse(s.root().removed);
        assertEquals(Map.of("fd", 1L), s.byKind());

        s.closeAll();
        assertEquals(0, s.inodes());
        assertNull(s.get(1));
    }

    @Test
    void refFailsOnRemovedInode() {
        InodeStore s = storeWithRoot();
        Inode a = insert(s, new IdsKey(5, 10, 20), new FakeIdentity(null), S_IFREG);
        assertTrue(s.ref(a));
        s.forget(a.nodeId, 2);
        assertFalse(s.ref(a));
    }

    @Test
    void aNewInodeThatWouldExceedTheFdBudgetIsRefusedAndKnownOnesAreStillFound() {
        InodeStore s = new InodeStore(2);
        Inode a = insert(s, new IdsKey(1, 10, 20), new FakeIdentity(null), S_IFREG);
        Inode b = insert(s, new IdsKey(2, 10, 20), new FakeIdentity(null), S_IFREG);
        assertNotNull(a);
        assertNotNull(b);
        FakeIdentity third = new FakeIdentity(null);
        assertNull(insert(s, new IdsKey(3, 10, 20), third, S_IFREG), "a third fd is over the budget");
        assertEquals(0, third.closed, "a refused identity stays the caller's to close");
        assertEquals(2, s.fds());
        // a handle identity holds no fd: not limited
        assertNotNull(insert(s, new IdsKey(4, 10, 20), new FakeIdentity(handle(20, 4, 1)), S_IFREG));
        // an inode already known is found whatever the budget (its fd is counted already)
        assertSame(a, insert(s, new IdsKey(1, 10, 20), new FakeIdentity(null), S_IFREG));
        // forgetting frees budget
        s.forget(b.nodeId, 1);
        assertNotNull(insert(s, new IdsKey(3, 10, 20), new FakeIdentity(null), S_IFREG));
    }

    // ---- pinsInode ---------------------------------------------------------------------------

    @Test
    void anIdentityThatNeitherHasAHandleNorPinsItsInodeIsNeverFoundByIds() {
        InodeStore s = storeWithRoot();
        IdsKey ids = new IdsKey(100, 10, 20);
        Inode a = insert(s, ids, new FakeIdentity(null, false), S_IFREG);
        // The host may have given A's inode number to a new file: the same ids must not find A.
        Inode b = insert(s, ids, new FakeIdentity(null, false), S_IFREG);
        assertNotEquals(a.nodeId, b.nodeId);
        // A pinning identity is found by ids (the fd keeps the number from being reused).
        Inode c = insert(s, new IdsKey(101, 10, 20), new FakeIdentity(null, true), S_IFREG);
        assertSame(c, insert(s, new IdsKey(101, 10, 20), new FakeIdentity(null, true), S_IFREG));
    }

    // ---- references --------------------------------------------------------------------------

    @Test
    void forgetAndDestroyNeverCloseAnIdentityARequestStillUses() {
        InodeStore s = storeWithRoot();
        FakeIdentity id = new FakeIdentity(null);
        Inode a = insert(s, new IdsKey(5, 10, 20), id, S_IFREG);
        Inode inUse = s.acquire(a.nodeId); // a request on another queue
        assertSame(a, inUse);
        s.forget(a.nodeId, 1);
        assertNull(s.get(a.nodeId), "gone from the store");
        assertNull(s.acquire(a.nodeId), "no new request can reach it");
        assertEquals(0, id.closed, "still in use: not closed");
        inUse.release();
        assertEquals(1, id.closed, "closed by the last user");

        FakeIdentity id2 = new FakeIdentity(handle(20, 6, 1));
        Inode b = insert(s, new IdsKey(6, 10, 20), id2, S_IFREG);
        Inode inUse2 = s.acquire(b.nodeId);
        s.clearAllButRoot();
        assertEquals(0, id2.closed);
        inUse2.release();
        assertEquals(1, id2.closed);
        assertThrows(IllegalStateException.class, inUse2::release, "an over-release is a bug, not silence");
    }

    @Test
    void findOrInsertGivesTheCallerAReference() {
        InodeStore s = storeWithRoot();
        FakeIdentity id = new FakeIdentity(null);
        Inode a = s.findOrInsert(new IdsKey(5, 10, 20), id, S_IFREG);
        assertEquals(2, a.refs(), "the store's and the caller's");
        s.forget(a.nodeId, 1);
        assertEquals(0, id.closed);
        a.release();
        assertEquals(1, id.closed);
    }

    @Test
    void lockFdsCountAgainstTheSameBudget() {
        InodeStore s = new InodeStore(3);
        s.setRoot(new IdsKey(2, 10, 20), new FakeIdentity(null), S_IFDIR);
        assertTrue(s.reserveFds(2));
        assertFalse(s.reserveFds(1), "root + 2 lock fds use the budget of 3");
        assertNull(s.findOrInsert(new IdsKey(5, 10, 20), new FakeIdentity(null), S_IFREG));
        s.returnFds(1);
        assertNotNull(insert(s, new IdsKey(5, 10, 20), new FakeIdentity(null), S_IFREG));
    }

    // ---- lookup counts at their boundaries ---------------------------------------------------

    @Test
    void refCountsOneMoreLookupThatForgetMustDropToo() {
        InodeStore s = storeWithRoot();
        Inode a = insert(s, new IdsKey(5, 10, 20), new FakeIdentity(null), S_IFREG);
        assertEquals(1, s.lookups(a));
        assertTrue(s.ref(a));
        assertTrue(s.ref(a));
        assertEquals(3, s.lookups(a), "each ref is one more lookup");
        s.forget(a.nodeId, 2);
        assertSame(a, s.get(a.nodeId), "one lookup left: the \".\" reply's");
        s.forget(a.nodeId, 1);
        assertNull(s.get(a.nodeId));
    }

    @Test
    void forgetOfZeroLookupsChangesNothingAndANegativeCountForgetsAll() {
        InodeStore s = storeWithRoot();
        FakeIdentity id = new FakeIdentity(null);
        Inode a = insert(s, new IdsKey(5, 10, 20), id, S_IFREG);
        s.ref(a);
        s.forget(a.nodeId, 0);
        assertSame(a, s.get(a.nodeId), "FORGET with nlookup 0 is no forget");
        assertEquals(2, s.lookups(a));
        s.forget(a.nodeId, 1);
        assertEquals(1, s.lookups(a));
        // the guest's u64 nlookup above Long.MAX_VALUE arrives negative: more than any count
        s.forget(a.nodeId, -1);
        assertNull(s.get(a.nodeId));
        assertEquals(1, id.closed);
        // a FORGET of more lookups than known also removes (and never goes below zero)
        Inode b = insert(s, new IdsKey(6, 10, 20), new FakeIdentity(null), S_IFREG);
        s.forget(b.nodeId, 5);
        assertNull(s.get(b.nodeId));
        assertEquals(0, s.lookups(b));
    }

    @Test
    void anInodeThatHoldsNoFdIsAdmittedEvenWhenTheFdsAreOverBudget() {
        // the root is never refused, so a budget of 0 is already exceeded by its fd
        InodeStore s = new InodeStore(0);
        s.setRoot(new IdsKey(2, 10, 20), new FakeIdentity(null), S_IFDIR);
        assertEquals(1, s.fds());
        assertNull(s.findOrInsert(new IdsKey(5, 10, 20), new FakeIdentity(null), S_IFREG));
        Inode h = insert(s, new IdsKey(6, 10, 20), new FakeIdentity(handle(20, 6, 1)), S_IFREG);
        assertNotNull(h, "a handle identity costs no fd");
        assertNotNull(insert(s, new IdsKey(7, 10, 20), new FakeIdentity(null, false), S_IFREG));
        assertEquals(1, s.fds());
    }

    @Test
    void setRootReturnsTheRootWithNodeIdOneAndTwoLookups() {
        InodeStore s = new InodeStore();
        assertNull(s.root());
        FakeIdentity id = new FakeIdentity(null);
        Inode r = s.setRoot(new IdsKey(2, 10, 20), id, S_IFDIR);
        assertNotNull(r);
        assertSame(r, s.root());
        assertSame(r, s.get(1));
        assertEquals(1, r.nodeId);
        assertTrue(r.root);
        assertSame(id, r.identity);
        assertEquals(2, s.lookups(r));
        assertEquals(2, s.nextNodeId(), "the root takes no id from the counter");
    }

    // ---- closeAll ----------------------------------------------------------------------------

    @Test
    void closeAllClosesEveryIdentityTheRootsToo() {
        InodeStore s = new InodeStore();
        FakeIdentity rootId = new FakeIdentity(null);
        s.setRoot(new IdsKey(2, 10, 20), rootId, S_IFDIR);
        FakeIdentity x = new FakeIdentity(null);
        FakeIdentity y = new FakeIdentity(handle(20, 6, 1));
        Inode a = insert(s, new IdsKey(5, 10, 20), x, S_IFREG);
        insert(s, new IdsKey(6, 10, 20), y, S_IFREG);
        s.closeAll();
        assertEquals(1, x.closed);
        assertEquals(1, y.closed);
        assertEquals(1, rootId.closed, "the root's identity (its O_PATH fd) is closed too");
        assertNull(s.get(a.nodeId));
        assertTrue(s.root().removed);
        assertEquals(0, s.inodes());
        assertEquals(0, s.fds());
        assertArrayEquals(new int[] {0, 0}, s.mapSizes());
        s.closeAll(); // twice: nothing left to release
        assertEquals(1, rootId.closed);
        new InodeStore().closeAll(); // never had a root
    }

    // ---- live migration hooks ----------------------------------------------------------------

    private static Inode migrated(long nodeId, long ino) {
        return new Inode(nodeId, new FakeIdentity(null), new IdsKey(ino, 10, 20), S_IFREG, false);
    }

    @Test
    void migratedInodesKeepTheirNodeIdsAndLookupsAndMoveTheCounterPastThem() {
        InodeStore s = storeWithRoot();
        assertEquals(2, s.nextNodeId());
        Inode m = migrated(50, 500);
        assertTrue(s.insertMigrated(m, 7, 0));
        assertSame(m, s.get(50));
        assertEquals(7, s.lookups(m));
        assertEquals(51, s.nextNodeId(), "past the highest migrated node id");
        assertTrue(s.insertMigrated(migrated(60, 600), 1, 100));
        assertEquals(100, s.nextNodeId(), "the source's counter, when it is higher");
        assertTrue(s.insertMigrated(migrated(20, 200), 1, 0));
        assertEquals(100, s.nextNodeId(), "never moves back");
        Inode fresh = insert(s, new IdsKey(700, 10, 20), new FakeIdentity(null), S_IFREG);
        assertEquals(100, fresh.nodeId);
        // found by ids like any other inode
        assertSame(m, insert(s, new IdsKey(500, 10, 20), new FakeIdentity(null), S_IFREG));
        assertEquals(8, s.lookups(m));
        assertEquals(5, s.inodes());
    }

    @Test
    void aMigratedInodeCannotTakeTheRootsOrATakenNodeId() {
        InodeStore noRootYet = new InodeStore();
        assertFalse(noRootYet.insertMigrated(migrated(1, 100), 1, 0), "node id 1 is the root's, set or not");
        assertFalse(noRootYet.insertMigrated(migrated(0, 100), 1, 0));
        assertFalse(noRootYet.insertMigrated(migrated(-5, 100), 1, 0));
        assertEquals(0, noRootYet.inodes());
        InodeStore s = storeWithRoot();
        Inode rootLike = new Inode(7, new FakeIdentity(null), new IdsKey(7, 10, 20), S_IFDIR, true);
        assertFalse(s.insertMigrated(rootLike, 1, 0));
        assertTrue(s.insertMigrated(migrated(7, 700), 1, 0));
        Inode dup = migrated(7, 701);
        assertFalse(s.insertMigrated(dup, 1, 0), "a malformed state naming node 7 twice");
        assertNotSame(dup, s.get(7));
        assertEquals(2, s.inodes());
    }

    @Test
    void theMigrationSnapshotIsEveryInodeButTheRootInNodeIdOrder() {
        InodeStore s = storeWithRoot();
        // node ids whose hash buckets do not follow their order: below 65536 a Long's bucket is the
        // id modulo the table size (2048 here), so 2049, 4098, 8195 and 16388 come before 3 and 5
        long[] ids = {3, 5, 2049, 4098, 8195, 16388};
        for (long id : ids) {
            assertTrue(s.insertMigrated(migrated(id, id + 1000), 1, 0));
        }
        Inode a = insert(s, new IdsKey(1, 10, 20), new FakeIdentity(null), S_IFREG);
        List<Long> order = new ArrayList<>();
        for (long id : s.migrationNodeIds()) {
            order.add(id);
        }
        List<Long> expected = new ArrayList<>();
        for (long id : ids) {
            expected.add(id);
        }
        expected.add(a.nodeId);
        Collections.sort(expected);
        assertEquals(expected, order);
    }
}
