package dev.virtiofsd.frontend;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.PollFds;
import dev.virtiofsd.linux.UnixSocket;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * An in-process vhost-user front end that drives a back end the way QEMU's vhost-user-fs device
 * does: memfd guest memory in two regions (with distinct guest-physical and "QEMU virtual"
 * addresses), split virtqueues, kick/call eventfds. Not thread-safe: use it from one thread.
 *
 * <p>Queue 0 is hiprio, queues 1..requestQueues carry requests.
 */
public final class VhostUserFrontend implements AutoCloseable {
    // Messages.
    public static final int GET_FEATURES = 1;
    public static final int SET_FEATURES = 2;
    public static final int SET_OWNER = 3;
    public static final int RESET_OWNER = 4;
    public static final int SET_MEM_TABLE = 5;
    public static final int SET_VRING_NUM = 8;
    public static final int SET_VRING_ADDR = 9;
    public static final int SET_VRING_BASE = 10;
    public static final int GET_VRING_BASE = 11;
    public static final int SET_VRING_KICK = 12;
    public static final int SET_VRING_CALL = 13;
    public static final int GET_PROTOCOL_FEATURES = 15;
    public static final int SET_PROTOCOL_FEATURES = 16;
    public static final int GET_CONFIG = 24;
    public static final int GET_QUEUE_NUM = 17;
    public static final int SET_VRING_ENABLE = 18;
    public static final int RESET_DEVICE = 34;
    public static final int GET_MAX_MEM_SLOTS = 36;
    public static final int ADD_MEM_REG = 37;
    public static final int REM_MEM_REG = 38;

    public static final int FLAG_VERSION = 1;
    public static final int FLAG_REPLY = 4;
    public static final int FLAG_NEED_REPLY = 8;

    public static final long F_INDIRECT_DESC = 1L << 28;
    public static final long F_EVENT_IDX = 1L << 29;
    public static final long F_PROTOCOL_FEATURES = 1L << 30;
    public static final long F_VERSION_1 = 1L << 32;
    public static final long PF_MQ = 1;
    public static final long PF_REPLY_ACK = 1L << 3;
    public static final long PF_RESET_DEVICE = 1L << 13;
    public static final long PF_CONFIGURE_MEM_SLOTS = 1L << 15;
    public static final long PF_CONFIG = 1L << 9;

    public static final int DESC_F_NEXT = 1;
    public static final int DESC_F_WRITE = 2;
    public static final int DESC_F_INDIRECT = 4;

    /** Guest-physical base of the second memory region (above 4 GiB like a real guest's high RAM). */
    public static final long HIGH_GPA = 0x1_0000_0000L;

    private static final long UVA0 = 0x7f00_0000_0000L;
    private static final long UVA1 = 0x7f40_0000_0000L;

    /** Settings; mutable builder-style fields. */
    public static final class Options {
        public long memorySize = 128L << 20;
        public int queueSize = 256;
        public int requestQueues = 1;
        public boolean eventIdx = true;
        public boolean indirect = false;
        /** Split request and reply buffers into descriptors of at most this many bytes (0: one each). */
        public int descriptorChunk = 0;
        /** Request/reply buffer size per in-flight slot. */
        public int bufferSize = (256 << 10) + 4096;
        /** In-flight requests per queue. */
        public int slots = 64;
        /** Send memory with ADD_MEM_REG instead of SET_MEM_TABLE (when CONFIGURE_MEM_SLOTS is offered). */
        public boolean addMemReg = false;
        /** Ask for REPLY_ACK on every message without a reply (synchronous error checks). */
        public boolean replyAck = true;
    }

    private final Options opt;
    private final UnixSocket socket;
    private final int memfd;
    private final long hostBase;
    private final long half;
    private final long msg = NativeMemory.allocate(4096);
    private final long scratch = NativeMemory.allocate(64);
    private final PollFds pollFd = new PollFds(1);
    private long bump;
    private final Queue[] queues;
    private long offeredFeatures;
    private long offeredProtocol;
    private long protocol;
    private long features;
    private int queueNum;
    private final Fuse fuse = new Fuse();

    private final class Queue {
        final int index;
        final int size;
        final long desc;
        final long avail;
        final long used;
        final ArrayDeque<Integer> freeDesc = new ArrayDeque<>();
        final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
        final long[] inBuf;
        final long[] outBuf;
        final long[] indirectTable;
        final int[] slotHead;
        final int[] slotDescs;
        final int[] slotReplyCap;
        final int[] headSlot;
        final Map<Integer, FuseReply> done = new HashMap<>();
        int kickFd = -1;
        int callFd = -1;
        int availIdx;
        int lastUsed;

        Queue(int index) {
            this.index = index;
            this.size = opt.queueSize;
            desc = alloc(16L * size, 16, false);
            avail = alloc(6L + 2L * size, 2, false);
            used = alloc(6L + 8L * size, 4, false);
            int slots = Math.min(opt.slots, size);
            inBuf = new long[slots];
            outBuf = new long[slots];
            indirectTable = new long[slots];
            slotHead = new int[slots];
            slotDescs = new int[slots];
            slotReplyCap = new int[slots];
            headSlot = new int[size];
            for (int i = 0; i < slots; i++) {
                inBuf[i] = alloc(opt.bufferSize, 64, i % 2 == 1);
                outBuf[i] = alloc(opt.bufferSize, 64, i % 2 == 0);
                indirectTable[i] = alloc(16L * 64, 16, false);
            }
            resetRing();
        }

        void resetRing() {
            NativeMemory.fill(host(desc), 16L * size, (byte) 0);
            NativeMemory.fill(host(avail), 6L + 2L * size, (byte) 0);
            NativeMemory.fill(host(used), 6L + 8L * size, (byte) 0);
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
    }

    private VhostUserFrontend(String path, Options opt) throws ErrnoException {
        this.opt = opt;
        if (opt.memorySize % (2L << 20) != 0) {
            throw new IllegalArgumentException("memory size must be a multiple of 2 MiB");
        }
        memfd = Linux.memfdCreate("guest-ram", Linux.MFD_CLOEXEC);
        Linux.ftruncate(memfd, opt.memorySize);
        hostBase = Linux.mmap(0, opt.memorySize, Linux.PROT_READ | Linux.PROT_WRITE, Linux.MAP_SHARED, memfd, 0);
        half = opt.memorySize / 2;
        bump = 4096;
        queues = new Queue[1 + opt.requestQueues];
        for (int i = 0; i < queues.length; i++) {
            queues[i] = new Queue(i);
        }
        socket = UnixSocket.connect(path);
    }

    /** Connects and sets the device up like QEMU: negotiation, memory table, rings, enable. */
    public static VhostUserFrontend connect(String path, Options opt) throws ErrnoException {
        VhostUserFrontend f = new VhostUserFrontend(path, opt);
        try {
            f.negotiate();
            f.startDevice();
            return f;
        } catch (ErrnoException | RuntimeException e) {
            f.close();
            throw e;
        }
    }

    public static VhostUserFrontend connect(String path) throws ErrnoException {
        return connect(path, new Options());
    }

    /** The FUSE request builder. */
    public Fuse fuse() {
        return fuse;
    }

    public long offeredFeatures() {
        return offeredFeatures;
    }

    /** The features acked with SET_FEATURES at start. */
    public long ackedFeatures() {
        return features;
    }

    public long offeredProtocolFeatures() {
        return offeredProtocol;
    }

    public int queueNum() {
        return queueNum;
    }

    public int queueCount() {
        return queues.length;
    }

    // ---- guest memory ----------------------------------------------------------------------

    /** Allocates guest memory, in the low (region 0) or high (region 1) half; returns its gpa. */
    public long alloc(long size, int align, boolean high) {
        // Low allocations grow from the bottom of region 0, high ones from the bottom of region 1.
        if (high) {
            long off = (highBump + align - 1) & -align;
            if (off + size > half) {
                throw new IllegalStateException("guest memory exhausted (high)");
            }
            highBump = off + size;
            return HIGH_GPA + off;
        }
        long off = (bump + align - 1) & -align;
        if (off + size > half) {
            throw new IllegalStateException("guest memory exhausted (low)");
        }
        bump = off + size;
        return off;
    }

    private long highBump = 0;

    /** Host address of guest-physical {@code gpa}. */
    public long host(long gpa) {
        if (gpa >= HIGH_GPA && gpa - HIGH_GPA < half) {
            return hostBase + half + (gpa - HIGH_GPA);
        }
        if (gpa >= 0 && gpa < half) {
            return hostBase + gpa;
        }
        throw new IllegalArgumentException("gpa 0x" + Long.toHexString(gpa) + " not in guest memory");
    }

    /** The "QEMU virtual address" of {@code gpa} that ring addresses are given in. */
    public long uva(long gpa) {
        return gpa >= HIGH_GPA ? UVA1 + (gpa - HIGH_GPA) : UVA0 + gpa;
    }

    public void writeGuest(long gpa, byte[] b) {
        NativeMemory.putBytes(host(gpa), b, 0, b.length);
    }

    public byte[] readGuest(long gpa, int len) {
        byte[] b = new byte[len];
        NativeMemory.getBytes(host(gpa), b, 0, len);
        return b;
    }

    // ---- messages --------------------------------------------------------------------------

    /** Sends a raw message: header with these fields, {@code payload} and fds. */
    public void sendRaw(int request, int flags, int size, byte[] payload, int... fds) throws ErrnoException {
        NativeMemory.putInt(msg, request);
        NativeMemory.putInt(msg + 4, flags);
        NativeMemory.putInt(msg + 8, size);
        NativeMemory.putBytes(msg + 12, payload, 0, payload.length);
        socket.send(msg, 12 + payload.length, fds, fds.length);
    }

    /** A reply's header and payload. */
    @SuppressWarnings("ArrayRecordComponent") // a reply is read, never compared or hashed
    public record Reply(int request, int flags, byte[] payload) {
        public long u64() {
            return ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        }

        public int u32(int off) {
            return ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN).getInt(off);
        }
    }

    /** Waits up to {@code timeoutMillis} for a reply; null on timeout; throws EPIPE when the back end closed. */
    public Reply readReply(int timeoutMillis) throws ErrnoException {
        if (pollFd.set(0, socket.fd(), Linux.POLLIN).poll(1, timeoutMillis) == 0) {
            return null;
        }
        int[] fds = new int[UnixSocket.MAX_FDS];
        int n = socket.recv(msg, 12, fds);
        for (int f : fds) {
            Linux.close(f);
        }
        if (n == 0) {
            throw ErrnoException.of(dev.virtiofsd.api.Errno.EPIPE, "back end closed the connection");
        }
        if (n < 12) {
            socket.recvFully(msg + n, 12 - n);
        }
        int size = NativeMemory.getInt(msg + 8);
        if (size < 0 || size > 4084) {
            throw ErrnoException.of(dev.virtiofsd.api.Errno.EBADMSG, "reply size " + size);
        }
        socket.recvFully(msg + 12, size);
        byte[] p = new byte[size];
        NativeMemory.getBytes(msg + 12, p, 0, size);
        return new Reply(NativeMemory.getInt(msg), NativeMemory.getInt(msg + 4), p);
    }

    private Reply call(int request, byte[] payload, int... fds) throws ErrnoException {
        sendRaw(request, FLAG_VERSION, payload.length, payload, fds);
        Reply r = readReply(10_000);
        if (r == null) {
            throw ErrnoException.of(dev.virtiofsd.api.Errno.ETIMEDOUT, "no reply to request " + request);
        }
        if (r.request != request || r.flags != (FLAG_VERSION | FLAG_REPLY)) {
            throw ErrnoException.of(dev.virtiofsd.api.Errno.EBADMSG, "bad reply header " + r.request + "/" + r.flags);
        }
        return r;
    }

    /** Sends a message without a reply; with REPLY_ACK asks for an ack and fails on a non-zero one. */
    public void message(int request, byte[] payload, int... fds) throws ErrnoException {
        boolean ack = opt.replyAck && (protocol & PF_REPLY_ACK) != 0;
        sendRaw(request, FLAG_VERSION | (ack ? FLAG_NEED_REPLY : 0), payload.length, payload, fds);
        if (ack) {
            Reply r = readReply(10_000);
            if (r == null) {
                throw ErrnoException.of(dev.virtiofsd.api.Errno.ETIMEDOUT, "no ack to request " + request);
            }
            if (r.request != request || r.flags != (FLAG_VERSION | FLAG_REPLY) || r.payload.length != 8) {
                throw ErrnoException.of(dev.virtiofsd.api.Errno.EBADMSG, "bad ack header " + r.request + "/" + r.flags);
            }
            if (r.u64() != 0) {
                throw ErrnoException.of(dev.virtiofsd.api.Errno.EIO, "back end failed request " + request);
            }
        }
    }

    private static byte[] u64(long v) {
        return le(8).putLong(v).array();
    }

    private static byte[] state(int index, int num) {
        return le(8).putInt(index).putInt(num).array();
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    private void negotiate() throws ErrnoException {
        offeredFeatures = call(GET_FEATURES, new byte[0]).u64();
        if ((offeredFeatures & F_PROTOCOL_FEATURES) != 0) {
            offeredProtocol = call(GET_PROTOCOL_FEATURES, new byte[0]).u64();
            protocol = offeredProtocol & (PF_MQ | PF_REPLY_ACK | PF_RESET_DEVICE | PF_CONFIGURE_MEM_SLOTS | PF_CONFIG);
            message(SET_PROTOCOL_FEATURES, u64(protocol));
            if ((protocol & PF_MQ) != 0) {
                queueNum = (int) call(GET_QUEUE_NUM, new byte[0]).u64();
                if (queueNum < queues.length) {
                    throw ErrnoException.of(
                            dev.virtiofsd.api.Errno.EINVAL, "back end has only " + queueNum + " queues");
                }
            }
            if ((protocol & PF_CONFIGURE_MEM_SLOTS) != 0) {
                call(GET_MAX_MEM_SLOTS, new byte[0]);
            }
        }
        message(SET_OWNER, new byte[0]);
    }

    /** What QEMU's vhost_dev_start sends. */
    private void startDevice() throws ErrnoException {
        features = F_VERSION_1 | (offeredFeatures & F_PROTOCOL_FEATURES);
        if (opt.eventIdx) {
            features |= offeredFeatures & F_EVENT_IDX;
        }
        if (opt.indirect) {
            features |= offeredFeatures & F_INDIRECT_DESC;
        }
        message(SET_FEATURES, u64(features));
        sendMemory();
        for (Queue q : queues) {
            setupRing(q);
        }
        if ((features & F_PROTOCOL_FEATURES) != 0) {
            for (Queue q : queues) {
                message(SET_VRING_ENABLE, state(q.index, 1));
            }
        }
    }

    @SuppressWarnings("ByteBufferBackingArray") // le() is ByteBuffer.allocate: offset 0
    private void sendMemory() throws ErrnoException {
        if (opt.addMemReg && (protocol & PF_CONFIGURE_MEM_SLOTS) != 0) {
            message(ADD_MEM_REG, region(le(40).putLong(0), 0), memfd);
            message(ADD_MEM_REG, region(le(40).putLong(0), 1), memfd);
        } else {
            ByteBuffer b = le(8 + 64).putInt(2).putInt(0);
            region(b, 0);
            region(b, 1);
            message(SET_MEM_TABLE, b.array(), memfd, memfd);
        }
    }

    /** Appends region {@code i}: guest_phys_addr, memory_size, userspace_addr, mmap_offset. */
    @SuppressWarnings("ByteBufferBackingArray") // callers pass le() buffers: ByteBuffer.allocate, offset 0
    private byte[] region(ByteBuffer b, int i) {
        if (i == 0) {
            b.putLong(0).putLong(half).putLong(UVA0).putLong(0);
        } else {
            b.putLong(HIGH_GPA).putLong(half).putLong(UVA1).putLong(half);
        }
        return b.array();
    }

    /** The payload of REM_MEM_REG / ADD_MEM_REG for region {@code i}. */
    public byte[] regionPayload(int i) {
        return region(le(40).putLong(0), i);
    }

    public int memfd() {
        return memfd;
    }

    private void setupRing(Queue q) throws ErrnoException {
        message(SET_VRING_NUM, state(q.index, q.size));
        message(SET_VRING_BASE, state(q.index, q.availIdx));
        message(
                SET_VRING_ADDR,
                le(40).putInt(q.index)
                        .putInt(0)
                        .putLong(uva(q.desc))
                        .putLong(uva(q.used))
                        .putLong(uva(q.avail))
                        .putLong(0)
                        .array());
        if (q.kickFd < 0) {
            q.kickFd = Linux.eventfd(0, 0);
            q.callFd = Linux.eventfd(0, Linux.EFD_NONBLOCK);
        }
        message(SET_VRING_KICK, u64(q.index), q.kickFd);
        message(SET_VRING_CALL, u64(q.index), q.callFd);
    }

    /** Replaces queue {@code i}'s call eventfd while running, as QEMU does when MSI-X vectors change. */
    public void replaceCallFd(int i) throws ErrnoException {
        Queue q = queues[i];
        int old = q.callFd;
        q.callFd = Linux.eventfd(0, Linux.EFD_NONBLOCK);
        message(SET_VRING_CALL, u64(i), q.callFd);
        Linux.close(old);
    }

    /** Sends the memory table again while the rings run (QEMU does on memory hotplug). */
    public void resendMemory() throws ErrnoException {
        sendMemory();
    }

    /**
     * What a guest reboot looks like: disable and stop every ring (GET_VRING_BASE), optionally
     * RESET_DEVICE, then start the device again with fresh rings. Returns the bases the back end reported.
     */
    public int[] reboot(boolean resetDevice) throws ErrnoException {
        int[] bases = stopRings();
        if (resetDevice) {
            message(RESET_DEVICE, new byte[0]);
        }
        for (Queue q : queues) {
            q.resetRing();
        }
        startDevice();
        return bases;
    }

    /** Disables and stops every ring; returns GET_VRING_BASE of each. */
    public int[] stopRings() throws ErrnoException {
        int[] bases = new int[queues.length];
        for (Queue q : queues) {
            if ((features & F_PROTOCOL_FEATURES) != 0) {
                message(SET_VRING_ENABLE, state(q.index, 0));
            }
            Reply r = call(GET_VRING_BASE, state(q.index, 0));
            bases[q.index] = r.u32(4);
        }
        return bases;
    }

    // ---- virtqueue requests ----------------------------------------------------------------

    /**
     * Puts a request on queue {@code qi}: {@code request} bytes readable, {@code replyCap} bytes
     * writable. Returns a ticket for {@link #await}. Throws IllegalStateException when all slots are busy.
     */
    public int submit(int qi, byte[] request, int replyCap) throws ErrnoException {
        Queue q = queues[qi];
        Integer slotObj = q.freeSlots.poll();
        if (slotObj == null) {
            throw new IllegalStateException("all " + q.inBuf.length + " slots of queue " + qi + " are in flight");
        }
        int slot = slotObj;
        if (request.length > opt.bufferSize || replyCap > opt.bufferSize) {
            throw new IllegalArgumentException("request or reply larger than the slot buffer");
        }
        writeGuest(q.inBuf[slot], request);
        NativeMemory.fill(host(q.outBuf[slot]), replyCap, (byte) 0);
        // Build the list of (gpa, len, flags) pieces.
        int chunk = opt.descriptorChunk > 0 ? opt.descriptorChunk : Integer.MAX_VALUE;
        int pieces = pieces(request.length, chunk) + pieces(replyCap, chunk);
        long[] addr = new long[pieces];
        int[] len = new int[pieces];
        int[] flags = new int[pieces];
        int n = 0;
        for (int off = 0; off < request.length; off += chunk) {
            addr[n] = q.inBuf[slot] + off;
            len[n] = Math.min(chunk, request.length - off);
            flags[n++] = 0;
        }
        for (int off = 0; off < replyCap; off += chunk) {
            addr[n] = q.outBuf[slot] + off;
            len[n] = Math.min(chunk, replyCap - off);
            flags[n++] = DESC_F_WRITE;
        }
        int head;
        if ((features & F_INDIRECT_DESC) != 0 && n <= 64) {
            long t = q.indirectTable[slot];
            for (int i = 0; i < n; i++) {
                writeDesc(host(t) + 16L * i, addr[i], len[i], flags[i] | (i + 1 < n ? DESC_F_NEXT : 0), i + 1);
            }
            head = q.freeDesc.poll();
            writeDesc(host(q.desc) + 16L * head, t, 16 * n, DESC_F_INDIRECT, 0);
            q.slotDescs[slot] = 1;
        } else {
            if (q.freeDesc.size() < n) {
                q.freeSlots.addFirst(slot);
                throw new IllegalStateException("out of descriptors");
            }
            int[] idx = new int[n];
            for (int i = 0; i < n; i++) {
                idx[i] = q.freeDesc.poll();
            }
            for (int i = 0; i < n; i++) {
                writeDesc(
                        host(q.desc) + 16L * idx[i],
                        addr[i],
                        len[i],
                        flags[i] | (i + 1 < n ? DESC_F_NEXT : 0),
                        i + 1 < n ? idx[i + 1] : 0);
            }
            head = idx[0];
            q.slotDescs[slot] = n;
        }
        q.slotHead[slot] = head;
        q.slotReplyCap[slot] = replyCap;
        q.headSlot[head] = slot;
        publish(qi, head);
        return slot;
    }

    private static int pieces(int len, int chunk) {
        return len == 0 ? 0 : (int) ((len + (long) chunk - 1) / chunk);
    }

    private static void writeDesc(long h, long addr, int len, int flags, int next) {
        NativeMemory.putLong(h, addr);
        NativeMemory.putInt(h + 8, len);
        NativeMemory.putShort(h + 12, (short) flags);
        NativeMemory.putShort(h + 14, (short) next);
    }

    /** Low-level: writes descriptor {@code idx} of queue {@code qi}'s table directly. */
    public void writeDescriptor(int qi, int idx, long gpa, int len, int flags, int next) {
        Queue q = queues[qi];
        q.freeDesc.remove(idx);
        writeDesc(host(q.desc) + 16L * idx, gpa, len, flags, next);
    }

    /** Low-level: writes a descriptor into an indirect table at gpa {@code table}. */
    public void writeIndirectDescriptor(long table, int i, long gpa, int len, int flags, int next) {
        writeDesc(host(table) + 16L * i, gpa, len, flags, next);
    }

    /** Low-level: makes {@code head} available and kicks. */
    public void publish(int qi, int head) throws ErrnoException {
        Queue q = queues[qi];
        NativeMemory.putShort(host(q.avail) + 4 + 2L * (q.availIdx & (q.size - 1)), (short) head);
        q.availIdx = (q.availIdx + 1) & 0xffff;
        VarHandle.releaseFence();
        NativeMemory.putShort(host(q.avail) + 2, (short) q.availIdx);
        VarHandle.fullFence();
        kick(qi);
    }

    /** Low-level: sets avail.idx to any value (e.g. far ahead of the ring) and kicks. */
    public void setAvailIdx(int qi, int idx) throws ErrnoException {
        Queue q = queues[qi];
        q.availIdx = idx & 0xffff;
        VarHandle.releaseFence();
        NativeMemory.putShort(host(q.avail) + 2, (short) q.availIdx);
        kick(qi);
    }

    public void kick(int qi) throws ErrnoException {
        NativeMemory.putLong(scratch + 32, 1);
        Linux.write(queues[qi].kickFd, scratch + 32, 8);
    }

    /** A used element: descriptor head and length. */
    public record Used(int head, int len) {}

    /** Low-level: the next used element of queue {@code qi}, waiting up to the timeout; null if none. */
    public Used waitUsed(int qi, int timeoutMillis) throws ErrnoException {
        Queue q = queues[qi];
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (true) {
            int usedIdx = NativeMemory.getShort(host(q.used) + 2) & 0xffff;
            VarHandle.acquireFence();
            if (usedIdx != q.lastUsed) {
                long e = host(q.used) + 4 + 8L * (q.lastUsed & (q.size - 1));
                Used u = new Used(NativeMemory.getInt(e), NativeMemory.getInt(e + 4));
                q.lastUsed = (q.lastUsed + 1) & 0xffff;
                // used_event: notify us when the entry after this one is used.
                NativeMemory.putShort(host(q.avail) + 4 + 2L * q.size, (short) q.lastUsed);
                VarHandle.fullFence();
                return u;
            }
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) {
                return null;
            }
            // Short polls also cover a back end that (legitimately) suppressed the notification.
            if (pollFd.set(0, q.callFd, Linux.POLLIN).poll(1, (int) Math.min(left, 50)) > 0) {
                try {
                    Linux.read(q.callFd, scratch + 16, 8);
                } catch (ErrnoException e) {
                    // EAGAIN: raced with another read
                }
            }
        }
    }

    /** Number of call-eventfd signals pending on queue {@code qi} (reads and clears the counter). */
    public long drainCalls(int qi) {
        try {
            Linux.read(queues[qi].callFd, scratch + 16, 8);
            return NativeMemory.getLong(scratch + 16);
        } catch (ErrnoException e) {
            return 0;
        }
    }

    /** Waits for the request of {@code ticket} on queue {@code qi}; null on timeout. */
    public FuseReply await(int qi, int ticket, int timeoutMillis) throws ErrnoException {
        Queue q = queues[qi];
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (true) {
            FuseReply r = q.done.remove(ticket);
            if (r != null) {
                q.freeSlots.add(ticket);
                return r;
            }
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) {
                return null;
            }
            Used u = waitUsed(qi, (int) left);
            if (u != null) {
                complete(q, u);
            }
        }
    }

    /** Waits for any completion on queue {@code qi}; returns its ticket, or -1 on timeout. Fetch it with {@link #await}. */
    public int awaitAny(int qi, int timeoutMillis) throws ErrnoException {
        Queue q = queues[qi];
        if (!q.done.isEmpty()) {
            return q.done.keySet().iterator().next();
        }
        Used u = waitUsed(qi, timeoutMillis);
        if (u == null) {
            return -1;
        }
        return complete(q, u);
    }

    private int complete(Queue q, Used u) {
        if (u.head < 0 || u.head >= q.size) {
            throw new IllegalStateException("back end returned head " + u.head);
        }
        int slot = q.headSlot[u.head];
        int len = Math.min(u.len, q.slotReplyCap[slot]);
        byte[] b = readGuest(q.outBuf[slot], len);
        // Free the chain.
        long d = host(q.desc);
        int idx = u.head;
        for (int i = 0; i < q.slotDescs[slot]; i++) {
            q.freeDesc.add(idx);
            idx = NativeMemory.getShort(d + 16L * idx + 14) & 0xffff;
        }
        q.done.put(slot, new FuseReply(b, u.len));
        return slot;
    }

    /** Submits and waits (10 s). */
    public FuseReply request(int qi, byte[] request, int replyCap) throws ErrnoException {
        int t = submit(qi, request, replyCap);
        FuseReply r = await(qi, t, 10_000);
        if (r == null) {
            throw ErrnoException.of(dev.virtiofsd.api.Errno.ETIMEDOUT, "no reply on queue " + qi);
        }
        return r;
    }

    // ---- FUSE conveniences (request queue 1) ------------------------------------------------

    public FuseReply init() throws ErrnoException {
        return init(0);
    }

    /** INIT as Linux 6.1 sends it (7.37) with these flags. */
    public FuseReply init(int flags) throws ErrnoException {
        return request(1, fuse.init(37, flags), 16 + 64);
    }

    public FuseReply lookup(long parent, String name) throws ErrnoException {
        return request(1, fuse.lookup(parent, name), 16 + 128);
    }

    public FuseReply getattr(long node) throws ErrnoException {
        return request(1, fuse.getattr(node), 16 + 104);
    }

    public FuseReply open(long node, int flags) throws ErrnoException {
        return request(1, fuse.open(node, flags), 16 + 16);
    }

    public FuseReply read(long node, long fh, long offset, int size) throws ErrnoException {
        return request(1, fuse.read(node, fh, offset, size), 16 + size);
    }

    public FuseReply write(long node, long fh, long offset, byte[] data) throws ErrnoException {
        return request(1, fuse.write(node, fh, offset, data), 16 + 8);
    }

    public FuseReply release(long node, long fh) throws ErrnoException {
        return request(1, fuse.release(node, fh), 16);
    }

    public FuseReply create(long parent, String name, int mode, int flags) throws ErrnoException {
        return request(1, fuse.create(parent, name, mode, flags), 16 + 128 + 16);
    }

    public FuseReply unlink(long parent, String name) throws ErrnoException {
        return request(1, fuse.unlink(parent, name), 16);
    }

    public FuseReply opendir(long node) throws ErrnoException {
        return request(1, fuse.opendir(node), 16 + 16);
    }

    public FuseReply readdirplus(long node, long fh, long offset, int size) throws ErrnoException {
        return request(1, fuse.readdirplus(node, fh, offset, size), 16 + size);
    }

    /** FORGET on the hiprio queue; returns the used element (len 0 expected). */
    public Used forget(long node, long nlookup) throws ErrnoException {
        int t = submit(0, fuse.forget(node, nlookup), 0);
        FuseReply r = await(0, t, 10_000);
        if (r == null) {
            throw ErrnoException.of(dev.virtiofsd.api.Errno.ETIMEDOUT, "FORGET not returned to the used ring");
        }
        return new Used(t, r.usedLength());
    }

    @Override
    public void close() {
        socket.close();
        for (Queue q : queues) {
            Linux.close(q.kickFd);
            Linux.close(q.callFd);
        }
        try {
            Linux.munmap(hostBase, opt.memorySize);
        } catch (ErrnoException e) {
            // process exit releases it
        }
        Linux.close(memfd);
        NativeMemory.free(msg);
        NativeMemory.free(scratch);
        pollFd.close();
    }

    /** Closes only the socket: the back end sees a disconnect. */
    public void disconnect() {
        socket.shutdown();
    }
}
