package dev.virtiofsd.transport.vhostuser.internal;

import static dev.virtiofsd.transport.vhostuser.internal.SplitRing.BAD_REQUEST;
import static dev.virtiofsd.transport.vhostuser.internal.SplitRing.BROKEN;
import static dev.virtiofsd.transport.vhostuser.internal.SplitRing.DESC_F_INDIRECT;
import static dev.virtiofsd.transport.vhostuser.internal.SplitRing.DESC_F_NEXT;
import static dev.virtiofsd.transport.vhostuser.internal.SplitRing.DESC_F_WRITE;
import static dev.virtiofsd.transport.vhostuser.internal.SplitRing.OK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The split ring on its own, with no queue thread: a lying driver's descriptor table, avail and
 * used rings laid out by hand in a memfd "guest memory" (virtio 1.x 2.7), then what the ring reads
 * from them and writes into them.
 */
class SplitRingTest {
    /** Guest-physical 1 MiB .. 2 MiB; the front end sees it at {@code gpa + UVA}. */
    private static final long BASE = 0x10_0000L;

    private static final long REGION = 1 << 20;
    private static final long UVA = 0x7f00_0000_0000L;
    private static final long DESC = BASE;
    private static final long AVAIL = BASE + 0x1000;
    private static final long USED = BASE + 0x2000;
    private static final long TABLE = BASE + 0x3000;
    private static final long DATA = BASE + 0x10000;
    private static final int SIZE = 8;

    private int fd;
    private int fd2 = -1;
    private GuestMemory mem;
    private final SplitRing ring = new SplitRing();
    private final ChainSegments in = new ChainSegments(2);
    private final ChainSegments out = new ChainSegments(2);

    @BeforeEach
    void setUp() throws Exception {
        fd = Linux.memfdCreate("ring", Linux.MFD_CLOEXEC);
        Linux.ftruncate(fd, REGION);
        mem = GuestMemory.EMPTY.withRegion(BASE, REGION, BASE + UVA, 0, fd);
        ring.size = SIZE;
        assertTrue(ring.map(mem, DESC + UVA, AVAIL + UVA, USED + UVA, -1));
    }

    @AfterEach
    void tearDown() {
        mem.close();
        Linux.close(fd);
        if (fd2 >= 0) {
            Linux.close(fd2);
        }
    }

    private long host(long gpa) {
        long h = mem.translateGpa(gpa, 1);
        assertTrue(h != 0, "test layout outside guest memory");
        return h;
    }

    private void desc(long table, int i, long addr, long len, int flags, int next) {
        long d = host(table + 16L * i);
        NativeMemory.putLong(d, addr);
        NativeMemory.putInt(d + 8, (int) len);
        NativeMemory.putShort(d + 12, (short) flags);
        NativeMemory.putShort(d + 14, (short) next);
    }

    /** The driver offers {@code heads} in the avail ring and moves its index past them. */
    private void offer(int... heads) {
        int idx = NativeMemory.getShort(host(AVAIL + 2)) & 0xffff;
        for (int h : heads) {
            NativeMemory.putShort(host(AVAIL + 4 + 2L * (idx & (SIZE - 1))), (short) h);
            idx = (idx + 1) & 0xffff;
        }
        NativeMemory.putShort(host(AVAIL + 2), (short) idx);
    }

    private int parse(int head, int minReply) {
        return ring.parse(head, mem, in, out, minReply);
    }

    private void assertSegment(ChainSegments s, int i, long gpa, int len) {
        assertEquals(host(gpa), s.address(i), "segment " + i + " address");
        assertEquals(len, s.length(i), "segment " + i + " length");
    }

    // ---- mapping -----------------------------------------------------------------------------

    @Test
    void aRingIsMappedOnlyWhenAllThreePartsLieInGuestMemory() {
        assertTrue(ring.mapped());
        long end = BASE + REGION;
        // each part may end exactly at the region's end, not one byte later
        assertTrue(ring.map(mem, end - 16L * SIZE + UVA, AVAIL + UVA, USED + UVA, -1));
        assertFalse(ring.map(mem, end - 16L * SIZE + 1 + UVA, AVAIL + UVA, USED + UVA, -1));
        assertFalse(ring.mapped());
        assertTrue(ring.map(mem, DESC + UVA, end - (6 + 2L * SIZE) + UVA, USED + UVA, -1));
        assertFalse(ring.map(mem, DESC + UVA, end - (6 + 2L * SIZE) + 1 + UVA, USED + UVA, -1));
        assertTrue(ring.map(mem, DESC + UVA, AVAIL + UVA, end - (6 + 8L * SIZE) + UVA, -1));
        assertFalse(ring.map(mem, DESC + UVA, AVAIL + UVA, end - (6 + 8L * SIZE) + 1 + UVA, -1));
        assertFalse(ring.map(mem, DESC, AVAIL + UVA, USED + UVA, -1), "a guest-physical address is no front-end one");
        assertTrue(ring.map(mem, DESC + UVA, AVAIL + UVA, USED + UVA, -1));
        ring.size = 0;
        assertFalse(ring.map(mem, DESC + UVA, AVAIL + UVA, USED + UVA, -1), "no size, no ring");
        assertFalse(ring.mapped());
        ring.size = SIZE;
        assertTrue(ring.map(mem, DESC + UVA, AVAIL + UVA, USED + UVA, -1));
        ring.unmap();
        assertFalse(ring.mapped());
    }

    @Test
    void resetForgetsSizeMappingAndIndices() {
        ring.setBase(5);
        ring.reset();
        assertEquals(0, ring.size);
        assertFalse(ring.mapped());
        assertEquals(0, ring.base());
        assertEquals(0, ring.lastAvail());
    }

    // ---- chains ------------------------------------------------------------------------------

    @Test
    void aChainSplitsIntoItsReadableAndWritableParts() {
        desc(DESC, 0, DATA, 100, DESC_F_NEXT, 3);
        desc(DESC, 3, DATA + 0x1000, 50, DESC_F_NEXT, 5);
        desc(DESC, 5, DATA + 0x2000, 200, DESC_F_WRITE | DESC_F_NEXT, 7);
        desc(DESC, 7, DATA + 0x3000, 16, DESC_F_WRITE, 0);
        assertEquals(OK, parse(0, 16));
        assertEquals(2, in.count());
        assertSegment(in, 0, DATA, 100);
        assertSegment(in, 1, DATA + 0x1000, 50);
        assertEquals(2, out.count());
        assertSegment(out, 0, DATA + 0x2000, 200);
        assertSegment(out, 1, DATA + 0x3000, 16);
        // the next parse starts from empty lists
        desc(DESC, 1, DATA, 8, 0, 0);
        assertEquals(OK, parse(1, 0));
        assertEquals(1, in.count());
        assertEquals(0, out.count());
    }

    @Test
    void aChainAsLongAsTheTableIsFineOneThatLoopsIsBroken() {
        for (int i = 0; i < SIZE; i++) {
            desc(DESC, i, DATA + 16L * i, 16, i < SIZE - 1 ? DESC_F_NEXT : 0, i + 1);
        }
        assertEquals(OK, parse(0, 0));
        assertEquals(SIZE, in.count());
        desc(DESC, SIZE - 1, DATA, 16, DESC_F_NEXT, 0);
        assertEquals(BROKEN, parse(0, 0));
        assertTrue(ring.brokenReason().contains("loop"), ring.brokenReason());
        desc(DESC, 2, DATA, 16, DESC_F_NEXT, 2);
        assertEquals(BROKEN, parse(2, 0), "a descriptor naming itself");
    }

    @Test
    void indicesOutsideTheTableBreakTheRing() {
        desc(DESC, SIZE - 1, DATA, 16, 0, 0);
        assertEquals(OK, parse(SIZE - 1, 0), "the last head");
        assertEquals(BROKEN, parse(SIZE, 0));
        assertTrue(ring.brokenReason().contains("head " + SIZE + " out of range"), ring.brokenReason());
        assertEquals(BROKEN, parse(0xffff, 0));
        desc(DESC, 0, DATA, 16, DESC_F_NEXT, SIZE - 1);
        assertEquals(OK, parse(0, 0), "next = the last index");
        desc(DESC, 0, DATA, 16, DESC_F_NEXT, SIZE);
        assertEquals(BROKEN, parse(0, 0));
        assertTrue(ring.brokenReason().contains("next index " + SIZE), ring.brokenReason());
    }

    @Test
    void aReadableDescriptorTheDaemonCannotUseIsABadRequestIfAnErrorReplyFits() {
        // readable after writable
        desc(DESC, 0, DATA + 0x2000, 16, DESC_F_WRITE | DESC_F_NEXT, 1);
        desc(DESC, 1, DATA, 40, 0, 0);
        assertEquals(BAD_REQUEST, parse(0, 16), "room for the 16-byte error reply exactly");
        assertEquals(BROKEN, parse(0, 17), "one byte short of the error reply");
        // readable outside guest memory, or crossing its end
        desc(DESC, 0, BASE + REGION, 40, DESC_F_NEXT, 1);
        desc(DESC, 1, DATA + 0x2000, 16, DESC_F_WRITE, 0);
        assertEquals(BAD_REQUEST, parse(0, 16));
        desc(DESC, 0, BASE + REGION - 8, 40, DESC_F_NEXT, 1);
        assertEquals(BAD_REQUEST, parse(0, 16));
        desc(DESC, 0, BASE + REGION - 40, 40, DESC_F_NEXT, 1);
        assertEquals(OK, parse(0, 16), "ending exactly at the region's end");
        // a length with its top bit set is 2 GiB and more, not negative
        desc(DESC, 0, DATA, 0x8000_0010L, DESC_F_NEXT, 1);
        assertEquals(BAD_REQUEST, parse(0, 16));
        // no reply expected (minReply 0): still a bad request, the ring is fine
        desc(DESC, 0, BASE - 4096, 40, 0, 0);
        assertEquals(BAD_REQUEST, parse(0, 0));
    }

    @Test
    void aWritableDescriptorOutsideGuestMemoryBreaksTheRing() {
        desc(DESC, 0, DATA, 40, DESC_F_NEXT, 1);
        desc(DESC, 1, BASE + REGION - 8, 16, DESC_F_WRITE, 0);
        assertEquals(BROKEN, parse(0, 16));
        assertTrue(ring.brokenReason().contains("outside guest memory"), ring.brokenReason());
    }

    @Test
    void anEmptyDescriptorAddsNoSegment() {
        desc(DESC, 0, DATA, 0, DESC_F_NEXT, 1);
        desc(DESC, 1, DATA + 0x2000, 0, DESC_F_WRITE | DESC_F_NEXT, 2);
        desc(DESC, 2, DATA + 0x3000, 16, DESC_F_WRITE, 0);
        assertEquals(OK, parse(0, 16));
        assertEquals(0, in.count());
        assertEquals(1, out.count());
        assertSegment(out, 0, DATA + 0x3000, 16);
    }

    @Test
    void aDescriptorAcrossTwoRegionsBecomesTwoSegments() throws Exception {
        fd2 = Linux.memfdCreate("ring2", Linux.MFD_CLOEXEC);
        Linux.ftruncate(fd2, REGION);
        mem = mem.withRegion(BASE + REGION, REGION, BASE + REGION + UVA, 0, fd2);
        desc(DESC, 0, BASE + REGION - 10, 30, DESC_F_NEXT, 1);
        desc(DESC, 1, BASE + REGION + 100, 16, DESC_F_WRITE, 0);
        assertEquals(OK, parse(0, 16));
        assertEquals(2, in.count());
        assertSegment(in, 0, BASE + REGION - 10, 10);
        assertSegment(in, 1, BASE + REGION, 20);
        assertSegment(out, 0, BASE + REGION + 100, 16);
    }

    @Test
    void aDescriptorOverAGibibyteIsSplitIntoIntSizedSegments() throws Exception {
        long big = 2L << 30;
        long gpa = 1L << 32;
        fd2 = Linux.memfdCreate("big", Linux.MFD_CLOEXEC);
        Linux.ftruncate(fd2, big); // sparse: nothing is touched
        mem = mem.withRegion(gpa, big, gpa + UVA, 0, fd2);
        desc(DESC, 0, DATA, 40, DESC_F_NEXT, 1);
        desc(DESC, 1, gpa, 0x6000_0000L, DESC_F_WRITE, 0);
        assertEquals(OK, parse(0, 16));
        assertEquals(2, out.count());
        assertEquals(mem.translateGpa(gpa, 1), out.address(0));
        assertEquals(1 << 30, out.length(0));
        assertEquals(mem.translateGpa(gpa + (1L << 30), 1), out.address(1));
        assertEquals(0x2000_0000, out.length(1));
    }

    // ---- indirect tables ---------------------------------------------------------------------

    @Test
    void anIndirectTableIsWalkedWhenNegotiated() {
        ring.indirect = true;
        desc(TABLE, 0, DATA, 40, DESC_F_NEXT, 1);
        desc(TABLE, 1, DATA + 0x2000, 80, DESC_F_WRITE, 0);
        desc(DESC, 2, TABLE, 32, DESC_F_INDIRECT, 0);
        assertEquals(OK, parse(2, 16));
        assertEquals(1, in.count());
        assertSegment(in, 0, DATA, 40);
        assertEquals(1, out.count());
        assertSegment(out, 0, DATA + 0x2000, 80);

        ring.indirect = false;
        assertEquals(BROKEN, parse(2, 16), "not negotiated");
        assertTrue(ring.brokenReason().contains("bad indirect"), ring.brokenReason());
    }

    @Test
    void aBadIndirectDescriptorBreaksTheRing() {
        ring.indirect = true;
        desc(TABLE, 0, DATA, 40, DESC_F_NEXT, 1);
        desc(TABLE, 1, DATA + 0x2000, 80, DESC_F_WRITE, 0);
        desc(DESC, 2, TABLE, 32, DESC_F_INDIRECT | DESC_F_NEXT, 3);
        assertEquals(BROKEN, parse(2, 16), "INDIRECT with NEXT");
        desc(DESC, 2, TABLE, 0, DESC_F_INDIRECT, 0);
        assertEquals(BROKEN, parse(2, 16), "empty table");
        desc(DESC, 2, TABLE, 24, DESC_F_INDIRECT, 0);
        assertEquals(BROKEN, parse(2, 16), "not a whole number of descriptors");
        desc(DESC, 2, BASE + REGION - 16, 32, DESC_F_INDIRECT, 0);
        assertEquals(BROKEN, parse(2, 16));
        assertTrue(ring.brokenReason().contains("outside guest memory"), ring.brokenReason());
        // an indirect descriptor inside an indirect table
        desc(TABLE, 0, TABLE, 32, DESC_F_INDIRECT, 0);
        desc(DESC, 2, TABLE, 32, DESC_F_INDIRECT, 0);
        assertEquals(BROKEN, parse(2, 16), "nested indirect");
    }

    @Test
    void anIndirectTableHasItsOwnIndexRangeAndLoopBudget() {
        ring.indirect = true;
        desc(DESC, 2, TABLE, 32, DESC_F_INDIRECT, 0);
        desc(TABLE, 0, DATA, 40, DESC_F_NEXT, 1);
        desc(TABLE, 1, DATA, 40, DESC_F_NEXT, 0);
        assertEquals(BROKEN, parse(2, 0), "a loop of two in a table of two");
        assertTrue(ring.brokenReason().contains("loop"), ring.brokenReason());
        desc(TABLE, 1, DATA, 40, DESC_F_NEXT, 2);
        assertEquals(BROKEN, parse(2, 0), "next = 2 is past a table of two (though inside the ring's size)");
        desc(TABLE, 1, DATA, 40, 0, 0);
        assertEquals(OK, parse(2, 0));
        assertEquals(2, in.count());
    }

    @Test
    void anIndirectTableMayHold65536DescriptorsNotMore() {
        ring.indirect = true;
        // the whole 1 MiB region as one table: its entry 0 is the ring's descriptor 0
        desc(DESC, 0, DATA, 8, 0, 0);
        desc(DESC, 1, BASE, 16L * 65536, DESC_F_INDIRECT, 0);
        assertEquals(OK, parse(1, 0));
        assertSegment(in, 0, DATA, 8);
        desc(DESC, 1, BASE, 16L * 65537, DESC_F_INDIRECT, 0);
        assertEquals(BROKEN, parse(1, 0));
        assertTrue(ring.brokenReason().contains("bad indirect"), ring.brokenReason());
    }

    // ---- avail side --------------------------------------------------------------------------

    @Test
    void headsAreTakenInTheOrderTheDriverOfferedThem() {
        assertEquals(0, ring.availIndex());
        assertFalse(ring.hasNewEntries());
        offer(5, 6, 7);
        assertTrue(ring.hasNewEntries());
        assertEquals(3, ring.availIndex());
        assertEquals(3, ring.pending(ring.availIndex()));
        assertEquals(5, ring.takeHead());
        assertEquals(1, ring.lastAvail());
        assertEquals(2, ring.pending(ring.availIndex()));
        assertEquals(6, ring.takeHead());
        assertEquals(7, ring.takeHead());
        assertFalse(ring.hasNewEntries());
        assertEquals(0, ring.pending(ring.availIndex()));
        assertEquals(3, ring.base(), "GET_VRING_BASE: the next entry to read");
    }

    @Test
    void indicesWrapAt65536AndSlotsAtTheRingSize() {
        ring.setBase(0xfffe);
        assertEquals(0xfffe, ring.base());
        NativeMemory.putShort(host(AVAIL + 2), (short) 0xfffe);
        offer(1, 2, 3, 4);
        assertEquals(2, ring.availIndex());
        assertEquals(4, ring.pending(ring.availIndex()));
        assertEquals(1, NativeMemory.getShort(host(AVAIL + 4 + 2L * 6)), "0xfffe is slot 6 of 8");
        for (int h = 1; h <= 4; h++) {
            assertEquals(h, ring.takeHead());
        }
        assertEquals(2, ring.lastAvail());
        ring.setBase(0x1_0003);
        assertEquals(3, ring.base(), "a base is a 16-bit index");
    }

    @Test
    void askingForTheNextKickWritesAvailEventAndSeesEntriesThatCameMeanwhile() {
        offer(1, 2);
        ring.takeHead();
        ring.takeHead();
        assertFalse(ring.requestKickAndRecheck(null));
        assertEquals(2, NativeMemory.getShort(host(USED + 4 + 8L * SIZE)), "avail_event: kick at entry 2");
        offer(3);
        assertTrue(ring.requestKickAndRecheck(null));
    }

    // ---- used side ---------------------------------------------------------------------------

    @Test
    void usedEntriesAndTheUsedIndexAreWrittenForTheDriver() {
        ring.setBase(6);
        ring.pushUsed(3, 100, null);
        ring.pushUsed(4, 0, null);
        ring.pushUsed(5, 7, null);
        assertEquals(3, NativeMemory.getInt(host(USED + 4 + 8L * 6)));
        assertEquals(100, NativeMemory.getInt(host(USED + 4 + 8L * 6 + 4)));
        assertEquals(4, NativeMemory.getInt(host(USED + 4 + 8L * 7)));
        assertEquals(0, NativeMemory.getInt(host(USED + 4 + 8L * 7 + 4)));
        assertEquals(5, NativeMemory.getInt(host(USED + 4)), "index 8 is slot 0");
        assertEquals(7, NativeMemory.getInt(host(USED + 8)));
        assertEquals(9, NativeMemory.getShort(host(USED + 2)));
    }

    @Test
    void withoutEventIdxTheNoInterruptFlagDecides() {
        assertFalse(ring.needsNotification(), "nothing used");
        ring.pushUsed(0, 0, null);
        assertTrue(ring.needsNotification());
        assertFalse(ring.needsNotification(), "once per batch");
        NativeMemory.putShort(host(AVAIL), (short) SplitRing.AVAIL_F_NO_INTERRUPT);
        ring.pushUsed(1, 0, null);
        assertFalse(ring.needsNotification(), "the driver asked for no interrupt");
        NativeMemory.putShort(host(AVAIL), (short) 0);
        ring.pushUsed(2, 0, null);
        assertTrue(ring.needsNotification());
    }

    @Test
    void withEventIdxTheDriversUsedEventDecides() {
        ring.eventIdx = true;
        long usedEvent = host(AVAIL + 4 + 2L * SIZE);
        ring.pushUsed(0, 0, null);
        assertTrue(ring.needsNotification(), "nothing signalled yet");
        NativeMemory.putShort(usedEvent, (short) 1);
        ring.pushUsed(1, 0, null); // used 1 -> 2: entry 1 is the one the driver waits for
        assertTrue(ring.needsNotification());
        NativeMemory.putShort(usedEvent, (short) 4);
        ring.pushUsed(2, 0, null); // 2 -> 3
        assertFalse(ring.needsNotification(), "entry 4 is not used yet");
        ring.pushUsed(3, 0, null); // 3 -> 4
        assertFalse(ring.needsNotification());
        ring.pushUsed(4, 0, null); // 4 -> 5: entry 4 used
        assertTrue(ring.needsNotification());
        ring.pushUsed(5, 0, null);
        assertFalse(ring.needsNotification(), "event 4 was passed already");
        ring.setBase(ring.base());
        ring.pushUsed(6, 0, null);
        assertTrue(ring.needsNotification(), "after SET_VRING_BASE nothing counts as signalled");
    }

    @Test
    void theDirtyLogGetsTheUsedEntryTheUsedIndexAndTheChainsWritableBytes() throws Exception {
        int logFd = Linux.memfdCreate("log", Linux.MFD_CLOEXEC);
        Linux.ftruncate(logFd, 128); // 4 MiB of guest memory
        try (DirtyLog log = DirtyLog.map(logFd, 128, 0)) {
            // the used ring's guest address from SET_VRING_ADDR: 4 bytes before a page boundary, so
            // the index (offset 2) and the first entry (offset 4) are on different pages
            long usedGpa = BASE + 0x5000 - 4;
            assertTrue(ring.map(mem, DESC + UVA, AVAIL + UVA, USED + UVA, usedGpa));
            ring.pushUsed(1, 10, log);
            assertTrue(log.isDirty(BASE + 0x4000), "used idx");
            assertTrue(log.isDirty(BASE + 0x5000), "used entry 0");
            assertFalse(log.isDirty(USED), "the log names the address the front end gave");
            ring.requestKickAndRecheck(log);
            assertFalse(log.isDirty(BASE + 0x6000));
            // without VRING_F_LOG the used ring's own guest address
            assertTrue(ring.map(mem, DESC + UVA, AVAIL + UVA, USED + UVA, -1));
            ring.setBase(SIZE - 1);
            ring.pushUsed(1, 10, log);
            assertTrue(log.isDirty(USED));
            assertFalse(log.isDirty(USED + 0x1000));
            // avail_event after the last entry: offset 4 + 8 * size
            long far = BASE + 0x8000 - (4 + 8L * SIZE);
            assertTrue(ring.map(mem, DESC + UVA, AVAIL + UVA, USED + UVA, far));
            ring.requestKickAndRecheck(log);
            assertTrue(log.isDirty(BASE + 0x8000), "avail_event");
            assertFalse(log.isDirty(BASE + 0x7000));

            desc(DESC, 0, DATA, 40, DESC_F_NEXT, 1);
            desc(DESC, 1, DATA + 0x20000, 0x2000, DESC_F_WRITE | DESC_F_NEXT, 2);
            desc(DESC, 2, DATA + 0x40000, 16, DESC_F_WRITE, 0);
            assertEquals(OK, parse(0, 16));
            SplitRing.logWrites(log, mem, out);
            assertTrue(log.isDirty(DATA + 0x20000));
            assertTrue(log.isDirty(DATA + 0x21000));
            assertFalse(log.isDirty(DATA + 0x22000));
            assertTrue(log.isDirty(DATA + 0x40000));
            assertFalse(log.isDirty(DATA), "readable bytes are not written");
            ChainSegments foreign = new ChainSegments(1);
            foreign.add(12345, 4096); // no guest memory: nothing to mark, no fault
            SplitRing.logWrites(log, mem, foreign);
        } finally {
            Linux.close(logFd);
        }
    }

    @Test
    void guestPhysicalAddressZeroIsLoggedLikeAnyOther() throws Exception {
        int logFd = Linux.memfdCreate("log", Linux.MFD_CLOEXEC);
        Linux.ftruncate(logFd, 128);
        fd2 = Linux.memfdCreate("low", Linux.MFD_CLOEXEC);
        Linux.ftruncate(fd2, 4096);
        try (DirtyLog log = DirtyLog.map(logFd, 128, 0)) {
            // the front end says the used ring is at guest address 0 (VRING_F_LOG)
            assertTrue(ring.map(mem, DESC + UVA, AVAIL + UVA, USED + UVA, 0));
            ring.pushUsed(1, 10, log);
            assertTrue(log.isDirty(0));
            assertFalse(log.isDirty(USED));
            // a writable segment in a region at guest address 0
            mem = mem.withRegion(0, 4096, 0x1000 + UVA, 0, fd2);
            int logFd2 = Linux.memfdCreate("log2", Linux.MFD_CLOEXEC);
            Linux.ftruncate(logFd2, 128);
            try (DirtyLog fresh = DirtyLog.map(logFd2, 128, 0)) {
                ChainSegments low = new ChainSegments(1);
                low.add(mem.translateGpa(0, 16), 16);
                SplitRing.logWrites(fresh, mem, low);
                assertTrue(fresh.isDirty(0));
            } finally {
                Linux.close(logFd2);
            }
        } finally {
            Linux.close(logFd);
        }
    }

    // ---- the segment list --------------------------------------------------------------------

    @Test
    void chainSegmentsGrowKeepTheirEntriesAndCopy() {
        ChainSegments s = new ChainSegments(1);
        for (int i = 0; i < 5; i++) {
            s.add(1000 + i, i + 1);
        }
        assertEquals(5, s.count());
        for (int i = 0; i < 5; i++) {
            assertEquals(1000 + i, s.address(i));
            assertEquals(i + 1, s.length(i));
        }
        ChainSegments c = new ChainSegments(1);
        c.add(9, 9);
        c.copyFrom(s);
        assertEquals(5, c.count());
        assertEquals(1004, c.address(4));
        assertEquals(5, c.length(4));
        s.clear();
        assertEquals(0, s.count());
        assertEquals(5, c.count(), "a copy, not a view");
    }
}
