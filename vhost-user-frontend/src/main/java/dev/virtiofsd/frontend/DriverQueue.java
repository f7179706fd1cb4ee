package dev.virtiofsd.frontend;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.frontend.VhostUserFrontend.Used;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.PollFds;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * One split virtqueue as a guest driver keeps it: descriptor table, available and used rings in
 * guest memory, request/reply buffers per in-flight slot (alternating between the two memory
 * regions), descriptor chains (direct, split into pieces, or indirect), kicks and the call eventfd.
 */
final class DriverQueue implements AutoCloseable {
    private static final int INDIRECT_MAX = 64;

    final int index;
    final int size;
    final long desc;
    final long avail;
    final long used;
    int kickFd = -1;
    int callFd = -1;
    int availIdx;

    private final GuestRam ram;
    private final VhostUserFrontend.Options opt;
    private final ArrayDeque<Integer> freeDesc = new ArrayDeque<>();
    private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
    private final long[] inBuf;
    private final long[] outBuf;
    private final long[] indirectTable;
    private final int[] slotHead;
    private final int[] slotDescs;
    private final int[] slotReplyCap;
    private final int[] headSlot;
    private final Map<Integer, FuseReply> done = new HashMap<>();
    private final PollFds pollFd = new PollFds(1);
    /** An eventfd counter to write (kick) and one to read (call): 8 bytes each. */
    private final long counter = NativeMemory.allocate(16);

    private int lastUsed;

    DriverQueue(int index, GuestRam ram, VhostUserFrontend.Options opt) {
        this.index = index;
        this.ram = ram;
        this.opt = opt;
        this.size = opt.queueSize;
        desc = ram.alloc(16L * size, 16, false);
        avail = ram.alloc(6L + 2L * size, 2, false);
        used = ram.alloc(6L + 8L * size, 4, false);
        int slots = Math.min(opt.slots, size);
        inBuf = new long[slots];
        outBuf = new long[slots];
        indirectTable = new long[slots];
        slotHead = new int[slots];
        slotDescs = new int[slots];
        slotReplyCap = new int[slots];
        headSlot = new int[size];
        for (int i = 0; i < slots; i++) {
            inBuf[i] = ram.alloc(opt.bufferSize, 64, i % 2 == 1);
            outBuf[i] = ram.alloc(opt.bufferSize, 64, i % 2 == 0);
            indirectTable[i] = ram.alloc(16L * INDIRECT_MAX, 16, false);
        }
        resetRing();
    }

    /** An empty ring: every descriptor and slot free, both indexes 0 (a fresh start after a reboot). */
    void resetRing() {
        NativeMemory.fill(ram.host(desc), 16L * size, (byte) 0);
        NativeMemory.fill(ram.host(avail), 6L + 2L * size, (byte) 0);
        NativeMemory.fill(ram.host(used), 6L + 8L * size, (byte) 0);
        freeDesc.clear();
        for (int i = 0; i < size; i++) {
            freeDesc.add(i);
        }
        freeSlots.clear();
        for (int i = 0; i < inBuf.length; i++) {
            freeSlots.add(i);
        }
        done.clear();
        availIdx = 0;
        lastUsed = 0;
    }

    /** The kick and call eventfds, made once (a reboot keeps them). */
    void ensureEventFds() throws ErrnoException {
        if (kickFd < 0) {
            kickFd = Linux.eventfd(0, 0);
            callFd = Linux.eventfd(0, Linux.EFD_NONBLOCK);
        }
    }

    /**
     * Puts a request on the queue: {@code request} bytes readable, {@code replyCap} bytes writable,
     * through an indirect table when {@code indirect} and it fits. Returns a ticket for
     * {@link #await}. Throws IllegalStateException when all slots are busy.
     */
    int submit(byte[] request, int replyCap, boolean indirect) throws ErrnoException {
        Integer slotObj = freeSlots.poll();
        if (slotObj == null) {
            throw new IllegalStateException("all " + inBuf.length + " slots of queue " + index + " are in flight");
        }
        int slot = slotObj;
        if (request.length > opt.bufferSize || replyCap > opt.bufferSize) {
            throw new IllegalArgumentException("request or reply larger than the slot buffer");
        }
        ram.write(inBuf[slot], request);
        NativeMemory.fill(ram.host(outBuf[slot]), replyCap, (byte) 0);
        // Build the list of (gpa, len, flags) pieces.
        int chunk = opt.descriptorChunk > 0 ? opt.descriptorChunk : Integer.MAX_VALUE;
        int pieces = pieces(request.length, chunk) + pieces(replyCap, chunk);
        long[] addr = new long[pieces];
        int[] len = new int[pieces];
        int[] flags = new int[pieces];
        int n = 0;
        for (int off = 0; off < request.length; off += chunk) {
            addr[n] = inBuf[slot] + off;
            len[n] = Math.min(chunk, request.length - off);
            flags[n++] = 0;
        }
        for (int off = 0; off < replyCap; off += chunk) {
            addr[n] = outBuf[slot] + off;
            len[n] = Math.min(chunk, replyCap - off);
            flags[n++] = VhostUserFrontend.DESC_F_WRITE;
        }
        int head;
        if (indirect && n <= INDIRECT_MAX) {
            long t = indirectTable[slot];
            for (int i = 0; i < n; i++) {
                writeDesc(ram.host(t) + 16L * i, addr[i], len[i], flags[i] | next(i, n), i + 1);
            }
            head = freeDesc.poll();
            writeDesc(ram.host(desc) + 16L * head, t, 16 * n, VhostUserFrontend.DESC_F_INDIRECT, 0);
            slotDescs[slot] = 1;
        } else {
            if (freeDesc.size() < n) {
                freeSlots.addFirst(slot);
                throw new IllegalStateException("out of descriptors");
            }
            int[] idx = new int[n];
            for (int i = 0; i < n; i++) {
                idx[i] = freeDesc.poll();
            }
            for (int i = 0; i < n; i++) {
                writeDesc(
                        ram.host(desc) + 16L * idx[i],
                        addr[i],
                        len[i],
                        flags[i] | next(i, n),
                        i + 1 < n ? idx[i + 1] : 0);
            }
            head = idx[0];
            slotDescs[slot] = n;
        }
        slotHead[slot] = head;
        slotReplyCap[slot] = replyCap;
        headSlot[head] = slot;
        publish(head);
        return slot;
    }

    private static int next(int i, int n) {
        return i + 1 < n ? VhostUserFrontend.DESC_F_NEXT : 0;
    }

    private static int pieces(int len, int chunk) {
        return len == 0 ? 0 : (int) ((len + (long) chunk - 1) / chunk);
    }

    /** Writes one 16-byte descriptor at host address {@code h}. */
    static void writeDesc(long h, long addr, int len, int flags, int next) {
        NativeMemory.putLong(h, addr);
        NativeMemory.putInt(h + 8, len);
        NativeMemory.putShort(h + 12, (short) flags);
        NativeMemory.putShort(h + 14, (short) next);
    }

    /** Writes descriptor {@code idx} of the table directly (it is no longer free). */
    void writeDescriptor(int idx, long gpa, int len, int flags, int next) {
        freeDesc.remove(idx);
        writeDesc(ram.host(desc) + 16L * idx, gpa, len, flags, next);
    }

    /** Makes {@code head} available and kicks. */
    void publish(int head) throws ErrnoException {
        NativeMemory.putShort(ram.host(avail) + 4 + 2L * (availIdx & (size - 1)), (short) head);
        availIdx = (availIdx + 1) & 0xffff;
        VarHandle.releaseFence();
        NativeMemory.putShort(ram.host(avail) + 2, (short) availIdx);
        VarHandle.fullFence();
        kick();
    }

    /** Sets avail.idx to any value (e.g. far ahead of the ring) and kicks. */
    void setAvailIdx(int idx) throws ErrnoException {
        availIdx = idx & 0xffff;
        VarHandle.releaseFence();
        NativeMemory.putShort(ram.host(avail) + 2, (short) availIdx);
        kick();
    }

    void kick() throws ErrnoException {
        NativeMemory.putLong(counter, 1);
        Linux.write(kickFd, counter, 8);
    }

    /** The next used element, waiting up to the timeout; null if none. */
    Used waitUsed(int timeoutMillis) throws ErrnoException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (true) {
            int usedIdx = NativeMemory.getShort(ram.host(used) + 2) & 0xffff;
            VarHandle.acquireFence();
            if (usedIdx != lastUsed) {
                long e = ram.host(used) + 4 + 8L * (lastUsed & (size - 1));
                Used u = new Used(NativeMemory.getInt(e), NativeMemory.getInt(e + 4));
                lastUsed = (lastUsed + 1) & 0xffff;
                // used_event: notify us when the entry after this one is used.
                NativeMemory.putShort(ram.host(avail) + 4 + 2L * size, (short) lastUsed);
                VarHandle.fullFence();
                return u;
            }
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) {
                return null;
            }
            // Short polls also cover a back end that (legitimately) suppressed the notification.
            if (pollFd.set(0, callFd, Linux.POLLIN).poll(1, (int) Math.min(left, 50)) > 0) {
                try {
                    Linux.read(callFd, counter + 8, 8);
                } catch (ErrnoException e) {
                    // EAGAIN: raced with another read
                }
            }
        }
    }

    /** Number of call-eventfd signals pending (reads and clears the counter). */
    long drainCalls() {
        try {
            Linux.read(callFd, counter + 8, 8);
            return NativeMemory.getLong(counter + 8);
        } catch (ErrnoException e) {
            return 0;
        }
    }

    /** Waits for the request of {@code ticket}; null on timeout. */
    FuseReply await(int ticket, int timeoutMillis) throws ErrnoException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (true) {
            FuseReply r = done.remove(ticket);
            if (r != null) {
                freeSlots.add(ticket);
                return r;
            }
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) {
                return null;
            }
            Used u = waitUsed((int) left);
            if (u != null) {
                complete(u);
            }
        }
    }

    /** Waits for any completion; returns its ticket, or -1 on timeout. */
    int awaitAny(int timeoutMillis) throws ErrnoException {
        if (!done.isEmpty()) {
            return done.keySet().iterator().next();
        }
        Used u = waitUsed(timeoutMillis);
        if (u == null) {
            return -1;
        }
        return complete(u);
    }

    private int complete(Used u) {
        if (u.head() < 0 || u.head() >= size) {
            throw new IllegalStateException("back end returned head " + u.head());
        }
        int slot = headSlot[u.head()];
        int len = Math.min(u.len(), slotReplyCap[slot]);
        byte[] b = ram.read(outBuf[slot], len);
        // Free the chain.
        long d = ram.host(desc);
        int idx = u.head();
        for (int i = 0; i < slotDescs[slot]; i++) {
            freeDesc.add(idx);
            idx = NativeMemory.getShort(d + 16L * idx + 14) & 0xffff;
        }
        done.put(slot, new FuseReply(b, u.len()));
        return slot;
    }

    @Override
    public void close() {
        Linux.close(kickFd);
        Linux.close(callFd);
        pollFd.close();
        NativeMemory.free(counter);
    }
}
