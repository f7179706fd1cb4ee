package dev.virtiofsd.transport.vhostuser.internal;

import static dev.virtiofsd.transport.vhostuser.internal.VhostUser.*;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.introspect.QueueFigures;
import dev.virtiofsd.api.transport.FuseServer;
import dev.virtiofsd.api.transport.FuseSession;
import dev.virtiofsd.api.transport.FuseStateTransfer;
import dev.virtiofsd.api.transport.FuseWorker;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.UnixSocket;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The vhost-user back end of one front-end connection: reads messages, keeps the device state
 * (features, memory table, virtqueues, FUSE session) and runs the queue threads.
 */
public final class VhostUserDevice implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(VhostUserDevice.class);

    /** Largest WRITE/READ payload offered at FUSE INIT. */
    public static final int MAX_WRITE = 1 << 20;

    static final long FEATURES = F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX | F_PROTOCOL_FEATURES | F_LOG_ALL;
    /** Offered always; DEVICE_STATE too when the FUSE server can move its sessions (live migration). */
    static final long PROTOCOL_FEATURES =
            PF_MQ | PF_REPLY_ACK | PF_RESET_DEVICE | PF_CONFIGURE_MEM_SLOTS | PF_LOG_SHMFD;
    /** Bytes of the tag in struct virtio_fs_config (MAX_TAG_LEN of virtiofsd). */
    public static final int TAG_MAX = 36;
    /** struct virtio_fs_config: tag[36], le32 num_request_queues. */
    static final int CONFIG_SIZE = TAG_MAX + 4;

    private final UnixSocket socket;
    private final FuseServer server;
    private final Virtqueue[] queues;
    /** The config space (tag, request queues) when --tag was given, else null (no PF_CONFIG). */
    private final byte[] config;

    private final VhostUserMessage message;

    private long ackedFeatures;
    private long ackedProtocolFeatures;
    private long status;
    private volatile GuestMemory memory = GuestMemory.EMPTY;
    private volatile FuseSession session;
    private final Object sessionLock = new Object();
    private final long protocolFeatures;

    /** The dirty log the front end gave (SET_LOG_BASE), and the one in force (also LOG_ALL acked), else null. */
    private DirtyLog logMapping;

    private volatile DirtyLog activeLog;
    /** The device-state transfer under way or awaiting CHECK_DEVICE_STATE. */
    private DeviceStateTransfer transfer;

    private final WorkerPool pool;
    private volatile boolean closing;

    /**
     * @param maxQueues number of virtqueues offered (1 hiprio + request queues); GET_QUEUE_NUM
     * @param poolSize  worker threads serving requests; 0 serves them on the queue threads
     */
    public VhostUserDevice(UnixSocket socket, FuseServer server, int maxQueues, int poolSize) {
        this(socket, server, maxQueues, poolSize, null);
    }

    /** @param tag the tag to advertise in the config space (offers VHOST_USER_PROTOCOL_F_CONFIG), or null */
    public VhostUserDevice(UnixSocket socket, FuseServer server, int maxQueues, int poolSize, String tag) {
        if (tag != null) {
            byte[] t = tag.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            config = new byte[CONFIG_SIZE];
            System.arraycopy(t, 0, config, 0, Math.min(t.length, TAG_MAX));
            int rq = maxQueues - 1;
            config[TAG_MAX] = (byte) rq;
            config[TAG_MAX + 1] = (byte) (rq >>> 8);
            config[TAG_MAX + 2] = (byte) (rq >>> 16);
            config[TAG_MAX + 3] = (byte) (rq >>> 24);
        } else {
            config = null;
        }
        this.socket = socket;
        this.message = new VhostUserMessage(socket);
        this.server = server;
        this.queues = new Virtqueue[maxQueues];
        this.protocolFeatures = PROTOCOL_FEATURES
                | (server instanceof FuseStateTransfer ? PF_DEVICE_STATE : 0)
                | (config != null ? PF_CONFIG : 0);
        for (int i = 0; i < maxQueues; i++) {
            queues[i] = new Virtqueue(this, i);
        }
        pool = new WorkerPool(poolSize, maxQueues);
    }

    int poolSize() {
        return pool.size();
    }

    GuestMemory memory() {
        return memory;
    }

    /** The dirty log while the front end wants writes logged (live migration), else null. */
    DirtyLog dirtyLog() {
        return activeLog;
    }

    private void updateActiveLog() {
        activeLog = (ackedFeatures & F_LOG_ALL) != 0 ? logMapping : null;
    }

    /** For tests (the fuzz target walks its descriptor chains): virtqueue {@code i}. */
    Virtqueue virtqueue(int i) {
        return queues[i];
    }

    /** The figures of every queue, in queue order; any thread. */
    public List<QueueFigures> queueFigures() {
        List<QueueFigures> figures = new ArrayList<>(queues.length);
        for (Virtqueue q : queues) {
            figures.add(q.figures());
        }
        return figures;
    }

    /** For tests: whether queue {@code i} was marked broken. */
    public boolean queueBroken(int i) {
        return queues[i].broken;
    }

    /** For tests: whether queue {@code i} has a running thread. */
    public boolean queueRunning(int i) {
        return queues[i].running();
    }

    /** Hands a request to the pool; blocks (back pressure) when the pool is far behind. */
    void submit(Virtqueue.Request r) throws InterruptedException {
        pool.submit(r);
    }

    /** See {@link WorkerPool#MAX_LOCK_WAITERS}. */
    static final int MAX_LOCK_WAITERS = WorkerPool.MAX_LOCK_WAITERS;

    /** Runs a request that may sleep on a thread of its own; false when too many already wait. */
    boolean runBlocking(Virtqueue.Request r) {
        return pool.runBlocking(r);
    }

    /** The FUSE worker of {@code slot} for the current session, opening the session if needed. */
    FuseWorker worker(WorkerSlot slot) {
        FuseSession s = session;
        if (s == null) {
            synchronized (sessionLock) {
                s = session;
                if (s == null) {
                    s = server.openSession(MAX_WRITE);
                    session = s;
                }
            }
        }
        if (slot.session != s) {
            slot.session = s;
            slot.worker = s.newWorker();
        }
        return slot.worker;
    }

    private void closeSession() {
        synchronized (sessionLock) {
            FuseSession s = session;
            session = null;
            if (s != null) {
                s.close();
            }
        }
    }

    // ---- message loop --------------------------------------------------------------------

    /** Serves messages until the front end disconnects or {@link #close} is called. */
    public void serve() {
        try {
            while (!closing) {
                if (!readMessage()) {
                    break;
                }
            }
        } catch (ErrnoException e) {
            if (!closing) {
                LOG.info("vhost-user connection ended: {}", e.getMessage());
            }
        }
    }

    /** Reads and handles one message; false at end of stream or on a fatal protocol error. */
    private boolean readMessage() throws ErrnoException {
        VhostUserMessage m = message;
        if (!m.read()) {
            return false;
        }
        try {
            dispatch(m);
        } catch (ErrnoException e) {
            LOG.error("vhost-user {}: {}", name(m.request), e.getMessage());
            m.failed = true;
        } finally {
            m.closeUnkeptFds();
        }
        // Evaluated after handling, like rust-vmm's vhost: SET_PROTOCOL_FEATURES may just have enabled it.
        boolean needReply = m.needsReply() && (ackedProtocolFeatures & PF_REPLY_ACK) != 0;
        if (m.hasReply) {
            if (m.failed) {
                // A message whose reply carries data cannot report an error: close instead of hanging the front end.
                LOG.error("vhost-user {}: malformed, closing the connection", name(m.request));
                return false;
            }
            m.sendReply();
        } else if (needReply) {
            m.sendAck();
        }
        return true;
    }

    /** The queue named by the u32 at the start of the payload (struct vhost_vring_state, vhost_vring_addr). */
    private Virtqueue queueOf(VhostUserMessage m) throws ErrnoException {
        return queueAt(m.u32(0) & 0xffffffffL);
    }

    private Virtqueue queueAt(long idx) throws ErrnoException {
        if (idx < 0 || idx >= queues.length) {
            throw ErrnoException.of(
                    Errno.EINVAL, "queue index " + idx + " out of range (" + queues.length + " queues)");
        }
        return queues[(int) idx];
    }

    /** One method per message, as rust-vmm vhost's backend handler. */
    private void dispatch(VhostUserMessage m) throws ErrnoException {
        switch (m.request) {
            case GET_FEATURES:
                getFeatures(m);
                break;
            case SET_FEATURES:
                setFeatures(m);
                break;
            case GET_PROTOCOL_FEATURES:
                getProtocolFeatures(m);
                break;
            case SET_PROTOCOL_FEATURES:
                setProtocolFeatures(m);
                break;
            case SET_OWNER:
                m.expectSize(0);
                break;
            case RESET_OWNER:
            case RESET_DEVICE:
                resetDevice(m);
                break;
            case GET_QUEUE_NUM:
                getQueueNum(m);
                break;
            case GET_MAX_MEM_SLOTS:
                getMaxMemSlots(m);
                break;
            case SET_MEM_TABLE:
                setMemTable(m);
                break;
            case ADD_MEM_REG:
                addMemReg(m);
                break;
            case REM_MEM_REG:
                remMemReg(m);
                break;
            case SET_VRING_NUM:
                setVringNum(m);
                break;
            case SET_VRING_ADDR:
                setVringAddr(m);
                break;
            case SET_VRING_BASE:
                setVringBase(m);
                break;
            case GET_VRING_BASE:
                getVringBase(m);
                break;
            case SET_VRING_KICK:
                setVringKick(m);
                break;
            case SET_VRING_CALL:
                setVringCall(m);
                break;
            case SET_VRING_ERR:
                setVringErr(m);
                break;
            case SET_VRING_ENABLE:
                setVringEnable(m);
                break;
            case SET_STATUS:
                setStatus(m);
                break;
            case GET_STATUS:
                getStatus(m);
                break;
            case SET_LOG_BASE:
                setLogBase(m);
                break;
            case SET_LOG_FD:
                // An eventfd to tell the front end about log changes; the shared-memory log needs none.
                m.expectSize(8);
                break;
            case SET_DEVICE_STATE_FD:
                setDeviceStateFd(m);
                break;
            case CHECK_DEVICE_STATE:
                checkDeviceState(m);
                break;
            case GET_CONFIG:
                getConfig(m);
                break;
            case SET_CONFIG:
                // the tag is ours to say; the virtio-fs config space is read-only for the driver
                throw ErrnoException.of(Errno.EPERM, "SET_CONFIG: the virtio-fs config space is read-only");
            default:
                throw ErrnoException.of(Errno.EOPNOTSUPP, "unsupported message");
        }
    }

    // ---- features ------------------------------------------------------------------------

    private void getFeatures(VhostUserMessage m) throws ErrnoException {
        m.hasReply = true;
        m.expectSize(0);
        m.replyU64(FEATURES);
    }

    private void setFeatures(VhostUserMessage m) throws ErrnoException {
        m.expectSize(8);
        long f = m.u64(0);
        if ((f & ~FEATURES) != 0) {
            throw ErrnoException.of(
                    Errno.EINVAL, "front end acked features we did not offer: 0x" + Long.toHexString(f & ~FEATURES));
        }
        ackedFeatures = f;
        updateActiveLog();
        for (Virtqueue q : queues) {
            boolean wasRunning = q.running();
            q.stop();
            q.ring.eventIdx = (f & F_EVENT_IDX) != 0;
            q.ring.indirect = (f & F_INDIRECT_DESC) != 0;
            if ((f & F_PROTOCOL_FEATURES) == 0) {
                // Without protocol features rings are enabled from the start.
                q.enabled = true;
            }
            if (wasRunning || q.shouldRun()) {
                reconcile(q);
            }
        }
    }

    private void getProtocolFeatures(VhostUserMessage m) throws ErrnoException {
        m.hasReply = true;
        m.expectSize(0);
        m.replyU64(protocolFeatures);
    }

    private void setProtocolFeatures(VhostUserMessage m) throws ErrnoException {
        m.expectSize(8);
        long f = m.u64(0);
        if ((f & ~protocolFeatures) != 0) {
            throw ErrnoException.of(
                    Errno.EINVAL,
                    "front end acked protocol features we did not offer: 0x" + Long.toHexString(f & ~protocolFeatures));
        }
        ackedProtocolFeatures = f;
    }

    private void getQueueNum(VhostUserMessage m) throws ErrnoException {
        m.hasReply = true;
        m.expectSize(0);
        m.replyU64(queues.length);
    }

    private void getMaxMemSlots(VhostUserMessage m) throws ErrnoException {
        m.hasReply = true;
        m.expectSize(0);
        m.replyU64(MAX_MEM_SLOTS);
    }

    private void setStatus(VhostUserMessage m) throws ErrnoException {
        m.expectSize(8);
        status = m.u64(0) & 0xff;
    }

    private void getStatus(VhostUserMessage m) throws ErrnoException {
        m.hasReply = true;
        m.expectSize(0);
        m.replyU64(status);
    }

    /** RESET_OWNER, RESET_DEVICE. Protocol features stay: the front end keeps using REPLY_ACK after a reset. */
    private void resetDevice(VhostUserMessage m) throws ErrnoException {
        m.expectSize(0);
        for (Virtqueue q : queues) {
            q.stop();
            q.reset();
        }
        ackedFeatures = 0;
        updateActiveLog();
        status = 0;
        closeSession();
    }

    // ---- guest memory --------------------------------------------------------------------

    private void addMemReg(VhostUserMessage m) throws ErrnoException {
        m.expectSize(40);
        if (m.nfds != 1) {
            throw ErrnoException.of(Errno.EINVAL, "ADD_MEM_REG with " + m.nfds + " fds");
        }
        GuestMemory old = memory;
        if (old.regionCount() >= MAX_MEM_SLOTS) {
            throw ErrnoException.of(Errno.ENOSPC, "all " + MAX_MEM_SLOTS + " memory slots in use");
        }
        stopAll();
        try {
            memory = old.withRegion(m.u64(8), m.u64(16), m.u64(24), m.u64(32), m.fd(0));
        } finally {
            restartAll();
        }
    }

    private void remMemReg(VhostUserMessage m) throws ErrnoException {
        m.expectSize(40);
        GuestMemory old = memory;
        int i = old.find(m.u64(8), m.u64(16));
        if (i < 0) {
            throw ErrnoException.of(Errno.ENOENT, "REM_MEM_REG of a region we do not have");
        }
        stopAll();
        try {
            memory = old.without(i);
        } finally {
            restartAll();
        }
    }

    // ---- rings ---------------------------------------------------------------------------

    private void setVringNum(VhostUserMessage m) throws ErrnoException {
        m.expectSize(8);
        Virtqueue q = queueOf(m);
        int num = m.u32(4);
        if (num <= 0 || num > 32768 || (num & (num - 1)) != 0) {
            throw ErrnoException.of(Errno.EINVAL, "queue size " + num + " is not a power of 2 up to 32768");
        }
        q.stop();
        q.setSize(num);
        q.translate(memory);
        reconcile(q);
    }

    private void setVringAddr(VhostUserMessage m) throws ErrnoException {
        m.expectSize(40);
        Virtqueue q = queueOf(m);
        long d = m.u64(8);
        long u = m.u64(16);
        long a = m.u64(24);
        if ((d & 15) != 0 || (a & 1) != 0 || (u & 3) != 0) {
            throw ErrnoException.of(Errno.EINVAL, "misaligned ring addresses for queue " + q.index);
        }
        q.stop();
        boolean logUsed = (m.u32(4) & VRING_F_LOG) != 0;
        q.setAddresses(d, u, a, logUsed ? m.u64(32) : -1);
        if (!q.translate(memory)) {
            LOG.error("queue {}: ring addresses outside guest memory", q.index);
            m.failed = true;
        }
        reconcile(q);
    }

    private void setVringBase(VhostUserMessage m) throws ErrnoException {
        m.expectSize(8);
        Virtqueue q = queueOf(m);
        q.stop();
        q.setBase(m.u32(4));
        reconcile(q);
    }

    /** Stops the ring (every popped request finished first) and answers where it stopped. */
    private void getVringBase(VhostUserMessage m) throws ErrnoException {
        m.hasReply = true;
        m.expectSize(8);
        Virtqueue q = queueOf(m);
        q.stop();
        int base = q.ring.base();
        q.closeKick();
        q.setCall(-1);
        q.setBase(0);
        q.broken = false;
        NativeMemory.putInt(m.payload, q.index);
        NativeMemory.putInt(m.payload + 4, base);
        m.replySize = 8;
    }

    /**
     * The u64 of SET_VRING_KICK/CALL/ERR: the queue index, and either the NOFD bit or exactly one
     * fd; returns the fd (now the handler's) or -1.
     */
    private int vringFd(VhostUserMessage m) throws ErrnoException {
        m.expectSize(8);
        long v = m.u64(0);
        if ((v & VRING_NOFD_MASK) != 0) {
            return -1;
        }
        if (m.nfds != 1) {
            throw ErrnoException.of(Errno.EINVAL, name(m.request) + " without an fd");
        }
        m.keptFds = 1;
        return m.fd(0);
    }

    private Virtqueue vringFdQueue(VhostUserMessage m) throws ErrnoException {
        return queueAt(m.u64(0) & VRING_IDX_MASK);
    }

    private void setVringKick(VhostUserMessage m) throws ErrnoException {
        m.expectSize(8);
        Virtqueue q = vringFdQueue(m);
        int fd = vringFd(m);
        q.stop();
        Linux.close(q.kickFd);
        q.kickFd = fd;
        q.kickSet = true;
        q.broken = false;
        if ((ackedFeatures & F_PROTOCOL_FEATURES) == 0) {
            q.enabled = true;
        }
        reconcile(q);
    }

    private void setVringCall(VhostUserMessage m) throws ErrnoException {
        m.expectSize(8);
        Virtqueue q = vringFdQueue(m);
        q.setCall(vringFd(m));
    }

    private void setVringErr(VhostUserMessage m) throws ErrnoException {
        m.expectSize(8);
        Virtqueue q = vringFdQueue(m);
        int fd = vringFd(m);
        Linux.close(q.errFd);
        q.errFd = fd;
    }

    private void setVringEnable(VhostUserMessage m) throws ErrnoException {
        m.expectSize(8);
        Virtqueue q = queueOf(m);
        int enable = m.u32(4);
        if (enable != 0 && enable != 1) {
            throw ErrnoException.of(Errno.EINVAL, "SET_VRING_ENABLE " + enable);
        }
        q.enabled = enable == 1;
        if (!q.enabled) {
            q.stop();
        }
        reconcile(q);
    }

    /**
     * SET_LOG_BASE (with LOG_SHMFD): maps the front end's dirty bitmap, {@code u64 mmap_size, u64
     * mmap_offset} plus its fd, and answers with the same payload, as the front end waits for a reply.
     * The queues stop while the log changes, so that no thread marks a bitmap being unmapped.
     */
    private void setLogBase(VhostUserMessage m) throws ErrnoException {
        m.expectSize(16);
        int nfds = m.nfds;
        long p = m.payload;
        if (nfds != 1) {
            throw ErrnoException.of(
                    Errno.EINVAL, "SET_LOG_BASE with " + nfds + " fds (only a shared-memory log is supported)");
        }
        DirtyLog fresh = DirtyLog.map(m.fd(0), NativeMemory.getLong(p), NativeMemory.getLong(p + 8));
        stopAll();
        DirtyLog old = logMapping;
        logMapping = fresh;
        updateActiveLog();
        if (old != null) {
            old.close();
        }
        restartAll();
        LOG.info("dirty page log of {} pages set by the front end (live migration)", fresh.pages());
        m.hasReply = true;
        m.replySize = 16;
    }

    /**
     * SET_DEVICE_STATE_FD: {@code u32 direction, u32 phase} and a pipe end. The reply's bits 0-7 are
     * the error, bit 8 says no fd of ours comes back (we always use the front end's pipe).
     */
    private void setDeviceStateFd(VhostUserMessage m) throws ErrnoException {
        m.expectSize(8);
        int nfds = m.nfds;
        long p = m.payload;
        if (nfds != 1) {
            throw ErrnoException.of(Errno.EINVAL, "SET_DEVICE_STATE_FD with " + nfds + " fds");
        }
        int direction = NativeMemory.getInt(p);
        int phase = NativeMemory.getInt(p + 4);
        m.hasReply = true;
        m.replySize = 8;
        long failed = 0x101;
        NativeMemory.putLong(p, failed);
        if (!(server instanceof FuseStateTransfer states)) {
            LOG.error("SET_DEVICE_STATE_FD: the FUSE server cannot migrate sessions");
            return;
        }
        if (phase != STATE_PHASE_STOPPED || (direction != STATE_DIRECTION_SAVE && direction != STATE_DIRECTION_LOAD)) {
            LOG.error("SET_DEVICE_STATE_FD: unknown direction {} or phase {}", direction, phase);
            return;
        }
        for (Virtqueue q : queues) {
            if (q.running()) {
                LOG.error(
                        "SET_DEVICE_STATE_FD while queue {} runs: the front end must stop every queue first", q.index);
                return;
            }
        }
        if (transfer != null) {
            LOG.warn("SET_DEVICE_STATE_FD before the previous transfer was checked; waiting for it");
            DeviceStateTransfer previous = transfer;
            transfer = null;
            previous.finish();
            discardLoaded(previous);
        }
        m.keptFds = 1;
        int fd = m.fd(0);
        if (direction == STATE_DIRECTION_SAVE) {
            transfer = DeviceStateTransfer.save(states, session, fd);
        } else {
            // The filesystem is shared by sessions: drop the current one (and its inodes) before the
            // incoming state fills the filesystem, never after.
            closeSession();
            transfer = DeviceStateTransfer.load(states, MAX_WRITE, fd);
        }
        NativeMemory.putLong(p, 0x100);
    }

    /** CHECK_DEVICE_STATE: waits for the transfer (0: it worked); a loaded session becomes the device's session. */
    private void checkDeviceState(VhostUserMessage m) throws ErrnoException {
        m.expectSize(0);
        m.replyU64(finishTransfer() ? 0 : 1);
    }

    private boolean finishTransfer() {
        DeviceStateTransfer t = transfer;
        transfer = null;
        if (t == null) {
            LOG.error("CHECK_DEVICE_STATE without a transfer");
            return false;
        }
        if (!t.finish()) {
            return false;
        }
        if (!t.saving()) {
            synchronized (sessionLock) {
                session = t.loadedSession();
            }
        }
        return true;
    }

    private static void discardLoaded(DeviceStateTransfer t) {
        FuseSession s = t.loadedSession();
        if (s != null) {
            s.close();
        }
    }

    /**
     * GET_CONFIG: struct vhost_user_config (offset, size, flags, payload[size]) answered with the
     * requested slice of the virtio-fs config space; bytes past its end read as 0.
     */
    private void getConfig(VhostUserMessage m) throws ErrnoException {
        int size = m.size;
        long p = m.payload;
        if (config == null || (ackedProtocolFeatures & PF_CONFIG) == 0) {
            throw ErrnoException.of(Errno.EOPNOTSUPP, "GET_CONFIG without VHOST_USER_PROTOCOL_F_CONFIG");
        }
        if (size < 12) {
            throw m.malformed();
        }
        long offset = NativeMemory.getInt(p) & 0xffffffffL;
        long length = NativeMemory.getInt(p + 4) & 0xffffffffL;
        if (length > MAX_PAYLOAD - 12 || 12 + length > size) {
            throw m.malformed();
        }
        for (int i = 0; i < length; i++) {
            long at = offset + i;
            NativeMemory.putByte(p + 12 + i, at < config.length ? config[(int) at] : 0);
        }
        m.hasReply = true;
        m.replySize = (int) (12 + length);
    }

    private void setMemTable(VhostUserMessage m) throws ErrnoException {
        int size = m.size;
        long p = m.payload;
        int nfds = m.nfds;
        if (size < 8) {
            throw m.malformed();
        }
        int n = NativeMemory.getInt(p);
        if (n < 0 || n > 8 || size != 8 + 32 * n) {
            throw m.malformed();
        }
        if (nfds != n) {
            throw ErrnoException.of(Errno.EINVAL, "SET_MEM_TABLE with " + n + " regions but " + nfds + " fds");
        }
        GuestMemory fresh = GuestMemory.EMPTY;
        try {
            for (int i = 0; i < n; i++) {
                long reg = p + 8 + 32L * i;
                fresh = fresh.withRegion(
                        NativeMemory.getLong(reg),
                        NativeMemory.getLong(reg + 8),
                        NativeMemory.getLong(reg + 16),
                        NativeMemory.getLong(reg + 24),
                        m.fd(i));
            }
        } catch (ErrnoException e) {
            fresh.close();
            throw e;
        }
        stopAll();
        GuestMemory old = memory;
        memory = fresh;
        old.close();
        restartAll();
    }

    /** Stops every queue thread (finishing in-flight requests) so that memory can change under them. */
    private void stopAll() {
        for (Virtqueue q : queues) {
            q.stop();
        }
    }

    /** Translates every ring into the new memory table and restarts the queues that should run. */
    private void restartAll() throws ErrnoException {
        for (Virtqueue q : queues) {
            q.translate(memory);
            reconcile(q);
        }
    }

    /** Starts or stops the queue's thread to match its state. */
    private void reconcile(Virtqueue q) throws ErrnoException {
        if (q.shouldRun()) {
            q.start();
        } else {
            q.stop();
        }
    }

    /** Stops everything; safe from any thread, also while {@link #serve} runs. */
    @Override
    public synchronized void close() {
        if (closing) {
            return;
        }
        closing = true;
        socket.shutdown();
    }

    /** Releases queues, memory and the session; called by the thread that ran {@link #serve}. */
    public void release() {
        closing = true;
        for (Virtqueue q : queues) {
            q.stop();
            q.reset();
            q.free();
        }
        pool.shutdown();
        memory.close();
        memory = GuestMemory.EMPTY;
        activeLog = null;
        if (logMapping != null) {
            logMapping.close();
            logMapping = null;
        }
        DeviceStateTransfer t = transfer;
        transfer = null;
        if (t != null) {
            t.finish();
            discardLoaded(t);
        }
        closeSession();
        socket.close();
        message.free();
    }
}
