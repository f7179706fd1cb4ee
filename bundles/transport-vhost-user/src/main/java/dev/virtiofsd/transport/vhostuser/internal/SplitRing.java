package dev.virtiofsd.transport.vhostuser.internal;

import dev.virtiofsd.linux.NativeMemory;
import java.lang.invoke.VarHandle;

/**
 * One split virtqueue ring in guest memory (virtio 1.x, 2.7): the descriptor table, the avail ring
 * the driver fills and the used ring we fill, plus our indices into them. It reads descriptor
 * chains and writes used entries; who runs it (threads, eventfds) is {@link Virtqueue}'s business,
 * and what the bytes mean is the FUSE worker's.
 *
 * <p>The avail side is used by the queue thread only. The used side ({@link #pushUsed},
 * {@link #needsNotification}) is called under the owner's lock, as completions come from several
 * threads.
 */
final class SplitRing {
    static final int DESC_F_NEXT = 1;
    static final int DESC_F_WRITE = 2;
    static final int DESC_F_INDIRECT = 4;
    static final int AVAIL_F_NO_INTERRUPT = 1;
    /** Largest segment we hand out; longer descriptors are split (SegmentList lengths are ints). */
    private static final long MAX_SEGMENT = 1L << 30;

    /** {@link #parse} results: a usable chain. */
    static final int OK = 0;
    /** The readable part could not be mapped: answer with an error reply, the ring is fine. */
    static final int BAD_REQUEST = 1;
    /** The chain is unusable (loop, bad index, bad indirect table): the ring must stop. */
    static final int BROKEN = 2;

    /** Ring size (a power of 2), 0 until SET_VRING_NUM. */
    int size;
    /** Negotiated VIRTIO_RING_F_EVENT_IDX and VIRTIO_RING_F_INDIRECT_DESC. */
    boolean eventIdx;

    boolean indirect;

    /** Host addresses of the three parts; 0 when unmapped. */
    private long desc;

    private long avail;
    private long used;
    /** Guest-physical address of the used ring for the dirty log; -1 if unknown. */
    private long usedGpa = -1;

    /** Next avail entry to read. */
    private int lastAvail;
    /** Next used entry to write. */
    private int nextUsed;

    private int signalledUsed;
    private boolean signalledValid;
    private boolean usedSinceNotify;
    /** Why {@link #parse} last returned {@link #BROKEN}. */
    private String brokenReason;

    /**
     * Maps the ring through {@code mem} from the front end's virtual addresses; false (and
     * unmapped) if any part lies outside it.
     *
     * @param logGuestAddr the used ring's guest address from SET_VRING_ADDR with VRING_F_LOG, or -1
     */
    boolean map(GuestMemory mem, long descUva, long availUva, long usedUva, long logGuestAddr) {
        if (size == 0) {
            unmap();
            return false;
        }
        desc = mem.translateUva(descUva, 16L * size);
        avail = mem.translateUva(availUva, 6L + 2L * size);
        used = mem.translateUva(usedUva, 6L + 8L * size);
        usedGpa = logGuestAddr >= 0 ? logGuestAddr : (used != 0 ? mem.gpaOfHost(used) : -1);
        return mapped();
    }

    void unmap() {
        desc = avail = used = 0;
    }

    boolean mapped() {
        return desc != 0 && avail != 0 && used != 0;
    }

    /** SET_VRING_BASE: both indices start at {@code base}. */
    void setBase(int base) {
        lastAvail = base & 0xffff;
        nextUsed = base & 0xffff;
        signalledValid = false;
    }

    /** GET_VRING_BASE: the next avail entry we would read. */
    int base() {
        return lastAvail;
    }

    void reset() {
        size = 0;
        unmap();
        lastAvail = 0;
        nextUsed = 0;
        signalledValid = false;
        usedSinceNotify = false;
    }

    // ---- avail side (queue thread) ---------------------------------------------------------

    /** The driver's avail index, read before the entries it covers. */
    int availIndex() {
        int idx = NativeMemory.getShort(avail + 2) & 0xffff;
        VarHandle.acquireFence();
        return idx;
    }

    /** Whether the driver added entries since we last looked; for a spinning thread, no fence. */
    boolean hasNewEntries() {
        return (NativeMemory.getShort(avail + 2) & 0xffff) != lastAvail;
    }

    /** Entries added since we last took one, given {@code availIndex}; more than {@link #size} is a lie. */
    int pending(int availIndex) {
        return (availIndex - lastAvail) & 0xffff;
    }

    int lastAvail() {
        return lastAvail;
    }

    /** Takes the next avail entry: the head index of its descriptor chain. */
    int takeHead() {
        int head = NativeMemory.getShort(avail + 4 + 2L * (lastAvail & (size - 1))) & 0xffff;
        lastAvail = (lastAvail + 1) & 0xffff;
        return head;
    }

    /**
     * With EVENT_IDX: asks the driver to kick at the next entry (used ring's avail_event), then
     * tells whether one arrived meanwhile (the driver may have added it before it saw the request).
     */
    boolean requestKickAndRecheck(DirtyLog log) {
        NativeMemory.putShort(used + 4 + 8L * size, (short) lastAvail);
        if (log != null) {
            logUsed(log, 4 + 8L * size, 2);
        }
        VarHandle.fullFence();
        return (NativeMemory.getShort(avail + 2) & 0xffff) != lastAvail;
    }

    /**
     * Walks the chain at {@code head} into readable ({@code in}) and writable ({@code out})
     * segments. An address outside guest memory in the readable part gives {@link #BAD_REQUEST};
     * a broken chain (loop, bad index, bad indirect table, unusable writable part) gives
     * {@link #BROKEN} with {@link #brokenReason()}.
     *
     * @param minReply the least writable room a chain with a bad readable part must have for an
     *                 error reply; with less the chain is {@link #BROKEN} (0: no reply expected)
     */
    int parse(int head, GuestMemory mem, ChainSegments in, ChainSegments out, int minReply) {
        in.clear();
        out.clear();
        if (head >= size) {
            return broken("descriptor head " + head + " out of range");
        }
        long table = desc;
        int tableSize = size;
        int budget = size;
        int idx = head;
        boolean inIndirect = false;
        boolean sawWrite = false;
        boolean badRead = false;
        while (true) {
            if (budget-- <= 0) {
                return broken("descriptor chain at head " + head + " is longer than its table (a loop?)");
            }
            long d = table + 16L * idx;
            long addr = NativeMemory.getLong(d);
            long len = NativeMemory.getInt(d + 8) & 0xffffffffL;
            int flags = NativeMemory.getShort(d + 12) & 0xffff;
            int next = NativeMemory.getShort(d + 14) & 0xffff;
            if ((flags & DESC_F_INDIRECT) != 0) {
                if (inIndirect
                        || !indirect
                        || (flags & DESC_F_NEXT) != 0
                        || len == 0
                        || len % 16 != 0
                        || len / 16 > 65536) {
                    return broken("bad indirect descriptor at head " + head);
                }
                long t = mem.translateGpa(addr, len);
                if (t == 0) {
                    return broken("indirect table of head " + head + " outside guest memory");
                }
                table = t;
                tableSize = (int) (len / 16);
                budget = tableSize;
                idx = 0;
                inIndirect = true;
                continue;
            }
            if ((flags & DESC_F_WRITE) != 0) {
                sawWrite = true;
                if (!addSegments(mem, out, addr, len)) {
                    return broken(
                            "writable descriptor 0x" + Long.toHexString(addr) + "+" + len + " outside guest memory");
                }
            } else if (sawWrite || !addSegments(mem, in, addr, len)) {
                badRead = true;
            }
            if ((flags & DESC_F_NEXT) == 0) {
                break;
            }
            idx = next;
            if (idx >= tableSize) {
                return broken("descriptor next index " + idx + " out of range in chain at head " + head);
            }
        }
        if (badRead) {
            if (out.totalLength() < minReply) {
                return broken("request at head " + head + " has unusable descriptors and no room for an error reply");
            }
            return BAD_REQUEST;
        }
        return OK;
    }

    private int broken(String why) {
        brokenReason = why;
        return BROKEN;
    }

    String brokenReason() {
        return brokenReason;
    }

    /** Adds {@code [addr, addr+len)} as host segments, split at region ends; false if not all mapped. */
    private static boolean addSegments(GuestMemory mem, ChainSegments s, long addr, long len) {
        long a = addr;
        long left = len;
        while (left > 0) {
            int r = mem.regionOfGpa(a);
            if (r < 0) {
                return false;
            }
            long n = Math.min(Math.min(left, mem.remaining(r, a)), MAX_SEGMENT);
            s.add(mem.hostOf(r, a), (int) n);
            a += n;
            left -= n;
        }
        return true;
    }

    // ---- used side (under the owner's lock) ------------------------------------------------

    /** Hands chain {@code head} back with {@code len} bytes written; logs the entry and index when {@code log}. */
    void pushUsed(int head, int len, DirtyLog log) {
        int slot = nextUsed & (size - 1);
        long e = used + 4 + 8L * slot;
        NativeMemory.putInt(e, head);
        NativeMemory.putInt(e + 4, len);
        nextUsed = (nextUsed + 1) & 0xffff;
        VarHandle.releaseFence();
        NativeMemory.putShort(used + 2, (short) nextUsed);
        if (log != null) {
            logUsed(log, 4 + 8L * slot, 8);
            logUsed(log, 2, 2);
        }
        usedSinceNotify = true;
    }

    /**
     * Whether the driver wants an interrupt for the entries used since the last call (EVENT_IDX's
     * used_event, else the NO_INTERRUPT flag); false when nothing was used since.
     */
    boolean needsNotification() {
        if (!usedSinceNotify) {
            return false;
        }
        VarHandle.fullFence();
        boolean need;
        if (eventIdx) {
            int event = NativeMemory.getShort(avail + 4 + 2L * size) & 0xffff;
            int newIdx = nextUsed;
            int old = signalledUsed;
            need = !signalledValid || ((newIdx - event - 1) & 0xffff) < ((newIdx - old) & 0xffff);
            signalledUsed = newIdx;
            signalledValid = true;
        } else {
            need = (NativeMemory.getShort(avail) & AVAIL_F_NO_INTERRUPT) == 0;
        }
        usedSinceNotify = false;
        return need;
    }

    /**
     * While the front end logs dirty pages (live migration), marks the whole writable part of a
     * chain: every byte the daemon may have written there. Called before the used entry that hands
     * the buffers back.
     */
    static void logWrites(DirtyLog log, GuestMemory mem, ChainSegments out) {
        for (int i = 0, n = out.count(); i < n; i++) {
            long gpa = mem.gpaOfHost(out.address(i));
            if (gpa >= 0) {
                log.mark(gpa, out.length(i));
            }
        }
    }

    /** Marks {@code len} bytes at {@code offset} into the used ring. */
    private void logUsed(DirtyLog log, long offset, long len) {
        if (usedGpa >= 0) {
            log.mark(usedGpa + offset, len);
        }
    }
}
