package dev.virtiofsd.frontend;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * An in-process vhost-user front end that drives a back end the way QEMU's vhost-user-fs device
 * does: memfd guest memory in two regions (with distinct guest-physical and "QEMU virtual"
 * addresses), split virtqueues, kick/call eventfds. Not thread-safe: use it from one thread.
 *
 * <p>Queue 0 is hiprio, queues 1..requestQueues carry requests.
 *
 * <p>Its parts: {@link GuestRam} (the memory), {@link MessageChannel} (the socket's messages),
 * {@link DriverQueue} (one split ring as a guest driver keeps it); this class sets the device up as
 * QEMU's vhost_dev_start does and offers FUSE requests on top.
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
    private final GuestRam ram;
    private final DriverQueue[] queues;
    private final MessageChannel channel;
    private long offeredFeatures;
    private long offeredProtocol;
    private long protocol;
    private long features;
    private int queueNum;
    private final Fuse fuse = new Fuse();

    private VhostUserFrontend(String path, Options opt) throws ErrnoException {
        this.opt = opt;
        ram = new GuestRam(opt.memorySize);
        queues = new DriverQueue[1 + opt.requestQueues];
        try {
            for (int i = 0; i < queues.length; i++) {
                queues[i] = new DriverQueue(i, ram, opt);
            }
            channel = new MessageChannel(path);
        } catch (ErrnoException | RuntimeException e) {
            closeQueues();
            ram.close();
            throw e;
        }
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

    // ---- guest memory (GuestRam) -----------------------------------------------------------

    /** Allocates guest memory, in the low (region 0) or high (region 1) half; returns its gpa. */
    public long alloc(long size, int align, boolean high) {
        return ram.alloc(size, align, high);
    }

    /** Host address of guest-physical {@code gpa}. */
    public long host(long gpa) {
        return ram.host(gpa);
    }

    /** The "QEMU virtual address" of {@code gpa} that ring addresses are given in. */
    public long uva(long gpa) {
        return ram.uva(gpa);
    }

    public void writeGuest(long gpa, byte[] b) {
        ram.write(gpa, b);
    }

    public byte[] readGuest(long gpa, int len) {
        return ram.read(gpa, len);
    }

    /** The payload of REM_MEM_REG / ADD_MEM_REG for region {@code i}. */
    public byte[] regionPayload(int i) {
        return ram.region(le(40).putLong(0), i);
    }

    public int memfd() {
        return ram.memfd;
    }

    // ---- messages (MessageChannel) ---------------------------------------------------------

    /** Sends a raw message: header with these fields, {@code payload} and fds. */
    public void sendRaw(int request, int flags, int size, byte[] payload, int... fds) throws ErrnoException {
        channel.sendRaw(request, flags, size, payload, fds);
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
        return channel.readReply(timeoutMillis);
    }

    /** Sends a message without a reply; with REPLY_ACK asks for an ack and fails on a non-zero one. */
    public void message(int request, byte[] payload, int... fds) throws ErrnoException {
        channel.message(opt.replyAck && (protocol & PF_REPLY_ACK) != 0, request, payload, fds);
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

    // ---- device set-up, as QEMU does it ---------------------------------------------------

    private void negotiate() throws ErrnoException {
        offeredFeatures = channel.call(GET_FEATURES, new byte[0]).u64();
        if ((offeredFeatures & F_PROTOCOL_FEATURES) != 0) {
            offeredProtocol = channel.call(GET_PROTOCOL_FEATURES, new byte[0]).u64();
            protocol = offeredProtocol & (PF_MQ | PF_REPLY_ACK | PF_RESET_DEVICE | PF_CONFIGURE_MEM_SLOTS | PF_CONFIG);
            message(SET_PROTOCOL_FEATURES, u64(protocol));
            if ((protocol & PF_MQ) != 0) {
                queueNum = (int) channel.call(GET_QUEUE_NUM, new byte[0]).u64();
                if (queueNum < queues.length) {
                    throw ErrnoException.of(Errno.EINVAL, "back end has only " + queueNum + " queues");
                }
            }
            if ((protocol & PF_CONFIGURE_MEM_SLOTS) != 0) {
                channel.call(GET_MAX_MEM_SLOTS, new byte[0]);
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
        for (DriverQueue q : queues) {
            setupRing(q);
        }
        if ((features & F_PROTOCOL_FEATURES) != 0) {
            for (DriverQueue q : queues) {
                message(SET_VRING_ENABLE, state(q.index, 1));
            }
        }
    }

    @SuppressWarnings("ByteBufferBackingArray") // le() is ByteBuffer.allocate: offset 0
    private void sendMemory() throws ErrnoException {
        if (opt.addMemReg && (protocol & PF_CONFIGURE_MEM_SLOTS) != 0) {
            message(ADD_MEM_REG, regionPayload(0), ram.memfd);
            message(ADD_MEM_REG, regionPayload(1), ram.memfd);
        } else {
            ByteBuffer b = le(8 + 64).putInt(2).putInt(0);
            ram.region(b, 0);
            ram.region(b, 1);
            message(SET_MEM_TABLE, b.array(), ram.memfd, ram.memfd);
        }
    }

    private void setupRing(DriverQueue q) throws ErrnoException {
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
        q.ensureEventFds();
        message(SET_VRING_KICK, u64(q.index), q.kickFd);
        message(SET_VRING_CALL, u64(q.index), q.callFd);
    }

    /** Replaces queue {@code i}'s call eventfd while running, as QEMU does when MSI-X vectors change. */
    public void replaceCallFd(int i) throws ErrnoException {
        DriverQueue q = queues[i];
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
        for (DriverQueue q : queues) {
            q.resetRing();
        }
        startDevice();
        return bases;
    }

    /** Disables and stops every ring; returns GET_VRING_BASE of each. */
    public int[] stopRings() throws ErrnoException {
        int[] bases = new int[queues.length];
        for (DriverQueue q : queues) {
            if ((features & F_PROTOCOL_FEATURES) != 0) {
                message(SET_VRING_ENABLE, state(q.index, 0));
            }
            Reply r = channel.call(GET_VRING_BASE, state(q.index, 0));
            bases[q.index] = r.u32(4);
        }
        return bases;
    }

    // ---- virtqueue requests (DriverQueue) --------------------------------------------------

    /**
     * Puts a request on queue {@code qi}: {@code request} bytes readable, {@code replyCap} bytes
     * writable. Returns a ticket for {@link #await}. Throws IllegalStateException when all slots are busy.
     */
    public int submit(int qi, byte[] request, int replyCap) throws ErrnoException {
        return queues[qi].submit(request, replyCap, (features & F_INDIRECT_DESC) != 0);
    }

    /** Low-level: writes descriptor {@code idx} of queue {@code qi}'s table directly. */
    public void writeDescriptor(int qi, int idx, long gpa, int len, int flags, int next) {
        queues[qi].writeDescriptor(idx, gpa, len, flags, next);
    }

    /** Low-level: writes a descriptor into an indirect table at gpa {@code table}. */
    public void writeIndirectDescriptor(long table, int i, long gpa, int len, int flags, int next) {
        DriverQueue.writeDesc(host(table) + 16L * i, gpa, len, flags, next);
    }

    /** Low-level: makes {@code head} available and kicks. */
    public void publish(int qi, int head) throws ErrnoException {
        queues[qi].publish(head);
    }

    /** Low-level: sets avail.idx to any value (e.g. far ahead of the ring) and kicks. */
    public void setAvailIdx(int qi, int idx) throws ErrnoException {
        queues[qi].setAvailIdx(idx);
    }

    public void kick(int qi) throws ErrnoException {
        queues[qi].kick();
    }

    /** A used element: descriptor head and length. */
    public record Used(int head, int len) {}

    /** Low-level: the next used element of queue {@code qi}, waiting up to the timeout; null if none. */
    public Used waitUsed(int qi, int timeoutMillis) throws ErrnoException {
        return queues[qi].waitUsed(timeoutMillis);
    }

    /** Number of call-eventfd signals pending on queue {@code qi} (reads and clears the counter). */
    public long drainCalls(int qi) {
        return queues[qi].drainCalls();
    }

    /** Waits for the request of {@code ticket} on queue {@code qi}; null on timeout. */
    public FuseReply await(int qi, int ticket, int timeoutMillis) throws ErrnoException {
        return queues[qi].await(ticket, timeoutMillis);
    }

    /** Waits for any completion on queue {@code qi}; returns its ticket, or -1 on timeout. Fetch it with {@link #await}. */
    public int awaitAny(int qi, int timeoutMillis) throws ErrnoException {
        return queues[qi].awaitAny(timeoutMillis);
    }

    /** Submits and waits (10 s). */
    public FuseReply request(int qi, byte[] request, int replyCap) throws ErrnoException {
        int t = submit(qi, request, replyCap);
        FuseReply r = await(qi, t, 10_000);
        if (r == null) {
            throw ErrnoException.of(Errno.ETIMEDOUT, "no reply on queue " + qi);
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
            throw ErrnoException.of(Errno.ETIMEDOUT, "FORGET not returned to the used ring");
        }
        return new Used(t, r.usedLength());
    }

    @Override
    public void close() {
        channel.close();
        closeQueues();
        ram.close();
    }

    private void closeQueues() {
        for (DriverQueue q : queues) {
            if (q != null) {
                q.close();
            }
        }
    }

    /** Closes only the socket: the back end sees a disconnect. */
    public void disconnect() {
        channel.shutdown();
    }
}
