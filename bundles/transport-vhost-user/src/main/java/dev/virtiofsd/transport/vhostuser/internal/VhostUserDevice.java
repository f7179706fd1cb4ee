package dev.virtiofsd.transport.vhostuser.internal;

import static dev.virtiofsd.transport.vhostuser.internal.VhostUser.*;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.transport.FuseServer;
import dev.virtiofsd.api.transport.FuseSession;
import dev.virtiofsd.api.transport.FuseStateTransfer;
import dev.virtiofsd.api.transport.FuseWorker;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.UnixSocket;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
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
    private final int poolSize;
    private final Virtqueue[] queues;
    /** The config space (tag, request queues) when --tag was given, else null (no PF_CONFIG). */
    private final byte[] config;

    private final long buf = NativeMemory.allocate(HEADER_SIZE + MAX_PAYLOAD);
    private final int[] fds = new int[UnixSocket.MAX_FDS];

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

    private Thread[] pool = new Thread[0];
    private ArrayBlockingQueue<Virtqueue.Request> work;
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
        this.server = server;
        this.poolSize = poolSize;
        this.queues = new Virtqueue[maxQueues];
        this.protocolFeatures = PROTOCOL_FEATURES
                | (server instanceof FuseStateTransfer ? PF_DEVICE_STATE : 0)
                | (config != null ? PF_CONFIG : 0);
        for (int i = 0; i < maxQueues; i++) {
            queues[i] = new Virtqueue(this, i);
        }
        if (poolSize > 0) {
            work = new ArrayBlockingQueue<>(maxQueues * 1024);
            pool = new Thread[poolSize];
            for (int i = 0; i < poolSize; i++) {
                pool[i] = new Thread(this::poolLoop, "vhost-user-worker-" + i);
                pool[i].setDaemon(true);
                pool[i].start();
            }
        }
    }

    int poolSize() {
        return poolSize;
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
        work.put(r);
    }

    /**
     * Most requests that may sleep (SETLKW) served at once, each on a thread of its own; beyond it
     * a SETLKW is answered ENOLCK at once, so a guest cannot make the daemon start threads without
     * bound.
     */
    static final int MAX_LOCK_WAITERS = Integer.getInteger("virtiofsd.vhostuser.max-lock-waiters", 256);

    private java.util.concurrent.ThreadPoolExecutor blockingExecutor;
    private static final ThreadLocal<WorkerSlot> BLOCKING_SLOT = new ThreadLocal<>();

    /** Runs a request that may sleep (SETLKW) on a thread of its own; false when all are busy. */
    synchronized boolean runBlocking(Virtqueue.Request r) {
        if (blockingExecutor == null) {
            blockingExecutor = new java.util.concurrent.ThreadPoolExecutor(
                    0,
                    MAX_LOCK_WAITERS,
                    30,
                    TimeUnit.SECONDS,
                    new java.util.concurrent.SynchronousQueue<>(),
                    VhostUserDevice::blockingThread);
        }
        try {
            blockingExecutor.execute(() -> r.queue.runBlocking(r, BLOCKING_SLOT.get()));
            return true;
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return false;
        }
    }

    /** A blocking thread has its slot (worker, scratch) for its lifetime; freed as it ends. */
    private static Thread blockingThread(Runnable task) {
        Thread t = new Thread(
                () -> {
                    try (WorkerSlot slot = new WorkerSlot()) {
                        BLOCKING_SLOT.set(slot);
                        task.run();
                    } finally {
                        BLOCKING_SLOT.remove();
                    }
                },
                "vhost-user-blocking");
        t.setDaemon(true);
        return t;
    }

    private void poolLoop() {
        try (WorkerSlot slot = new WorkerSlot()) {
            poolLoop(slot);
        }
    }

    private void poolLoop(WorkerSlot slot) {
        while (!closing) {
            Virtqueue.Request r;
            try {
                r = work.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (r == null) {
                continue;
            }
            int len = 0;
            try {
                len = r.queue.handle(r.status, r.in, r.out, slot);
            } catch (RuntimeException e) {
                LOG.error("queue {}: request failed", r.queue.index, e);
            } finally {
                r.queue.complete(r, len);
            }
        }
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

    /**
     * A FUSE INIT arrived. If the current session already completed INIT, the guest rebooted (or
     * remounted) without DESTROY: start a fresh session so the old one's inodes are released.
     */
    void onInit() {
        synchronized (sessionLock) {
            FuseSession s = session;
            if (s != null && s.initialized()) {
                LOG.info("FUSE INIT on an initialized session: the guest restarted; starting a new session");
                session = null;
                s.close();
            }
        }
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
        int n = socket.recv(buf, HEADER_SIZE, fds);
        if (n == 0) {
            closeFds(0);
            return false;
        }
        try {
            if (n < HEADER_SIZE) {
                socket.recvFully(buf + n, HEADER_SIZE - n);
            }
            int size = NativeMemory.getInt(buf + 8);
            if (size > 0 && size <= MAX_PAYLOAD) {
                socket.recvFully(buf + HEADER_SIZE, size);
            }
        } catch (ErrnoException e) {
            // The stream ended (or broke) inside the message: the fds that came with its header are
            // ours to close, or every truncated fd-carrying message leaks them.
            closeFds(0);
            throw e;
        }
        int request = NativeMemory.getInt(buf);
        int flags = NativeMemory.getInt(buf + 4);
        int size = NativeMemory.getInt(buf + 8);
        int nfds = 0;
        while (nfds < fds.length && fds[nfds] >= 0) {
            nfds++;
        }
        if (size < 0 || size > MAX_PAYLOAD) {
            LOG.error("vhost-user {}: payload size {} is too large; closing the connection", name(request), size);
            closeFds(0);
            return false;
        }
        if ((flags & VERSION_MASK) != VERSION) {
            LOG.error(
                    "vhost-user {}: unsupported version in flags 0x{}; closing the connection",
                    name(request),
                    Integer.toHexString(flags));
            closeFds(0);
            return false;
        }
        if (LOG.isDebugEnabled()) {
            LOG.debug("vhost-user {} flags 0x{} size {} fds {}", name(request), Integer.toHexString(flags), size, nfds);
        }
        Result r = RESULT;
        r.reset();
        try {
            handle(request, size, buf + HEADER_SIZE, nfds, r);
        } catch (ErrnoException e) {
            LOG.error("vhost-user {}: {}", name(request), e.getMessage());
            r.failed = true;
        } finally {
            closeFds(r.keptFds);
        }
        // Evaluated after handling, like rust-vmm's vhost: SET_PROTOCOL_FEATURES may just have enabled it.
        boolean needReply = (flags & FLAG_NEED_REPLY) != 0 && (ackedProtocolFeatures & PF_REPLY_ACK) != 0;
        if (r.fatal) {
            return false;
        }
        if (r.hasReply) {
            if (r.failed) {
                // A message whose reply carries data cannot report an error: close instead of hanging the front end.
                LOG.error("vhost-user {}: malformed, closing the connection", name(request));
                return false;
            }
            reply(request, r.replySize);
        } else if (needReply) {
            NativeMemory.putLong(buf + HEADER_SIZE, r.failed ? 1 : 0);
            reply(request, 8);
        }
        return true;
    }

    private void reply(int request, int size) throws ErrnoException {
        NativeMemory.putInt(buf, request);
        NativeMemory.putInt(buf + 4, VERSION | FLAG_REPLY);
        NativeMemory.putInt(buf + 8, size);
        socket.send(buf, HEADER_SIZE + size, fds, 0);
    }

    /** Closes received fds from index {@code from}: those a handler did not take. */
    private void closeFds(int from) {
        for (int i = from; i < fds.length; i++) {
            if (fds[i] >= 0) {
                Linux.close(fds[i]);
                fds[i] = -1;
            }
        }
    }

    private static final class Result {
        boolean hasReply;
        int replySize;
        boolean failed;
        boolean fatal;
        /** Fds [0, keptFds) now belong to the handler. */
        int keptFds;

        void reset() {
            hasReply = false;
            replySize = 0;
            failed = false;
            fatal = false;
            keptFds = 0;
        }
    }

    private final Result RESULT = new Result();

    private static ErrnoException malformed(int request, int size) {
        return ErrnoException.of(Errno.EINVAL, "bad payload size " + size + " for " + name(request));
    }

    private void expectSize(int request, int size, int expected) throws ErrnoException {
        if (size != expected) {
            throw malformed(request, size);
        }
    }

    private Virtqueue queue(long idx) throws ErrnoException {
        if (idx < 0 || idx >= queues.length) {
            throw ErrnoException.of(
                    Errno.EINVAL, "queue index " + idx + " out of range (" + queues.length + " queues)");
        }
        return queues[(int) idx];
    }

    private void replyU64(Result r, long v) {
        NativeMemory.putLong(buf + HEADER_SIZE, v);
        r.hasReply = true;
        r.replySize = 8;
    }

    private void handle(int request, int size, long p, int nfds, Result r) throws ErrnoException {
        switch (request) {
            case GET_FEATURES:
                r.hasReply = true;
                expectSize(request, size, 0);
                replyU64(r, FEATURES);
                break;
            case SET_FEATURES: {
                expectSize(request, size, 8);
                long f = NativeMemory.getLong(p);
                if ((f & ~FEATURES) != 0) {
                    throw ErrnoException.of(
                            Errno.EINVAL,
                            "front end acked features we did not offer: 0x" + Long.toHexString(f & ~FEATURES));
                }
                ackedFeatures = f;
                updateActiveLog();
                for (Virtqueue q : queues) {
                    boolean wasRunning = q.running();
                    q.stop();
                    q.eventIdx = (f & F_EVENT_IDX) != 0;
                    q.indirect = (f & F_INDIRECT_DESC) != 0;
                    if ((f & F_PROTOCOL_FEATURES) == 0) {
                        // Without protocol features rings are enabled from the start.
                        q.enabled = true;
                    }
                    if (wasRunning || q.shouldRun()) {
                        reconcile(q);
                    }
                }
                break;
            }
            case GET_PROTOCOL_FEATURES:
                r.hasReply = true;
                expectSize(request, size, 0);
                replyU64(r, protocolFeatures);
                break;
            case SET_PROTOCOL_FEATURES: {
                expectSize(request, size, 8);
                long f = NativeMemory.getLong(p);
                if ((f & ~protocolFeatures) != 0) {
                    throw ErrnoException.of(
                            Errno.EINVAL,
                            "front end acked protocol features we did not offer: 0x"
                                    + Long.toHexString(f & ~protocolFeatures));
                }
                ackedProtocolFeatures = f;
                break;
            }
            case SET_OWNER:
                expectSize(request, size, 0);
                break;
            case RESET_OWNER:
            case RESET_DEVICE:
                expectSize(request, size, 0);
                // Protocol features stay: the front end keeps using REPLY_ACK after a reset.
                resetDevice();
                break;
            case GET_QUEUE_NUM:
                r.hasReply = true;
                expectSize(request, size, 0);
                replyU64(r, queues.length);
                break;
            case GET_MAX_MEM_SLOTS:
                r.hasReply = true;
                expectSize(request, size, 0);
                replyU64(r, MAX_MEM_SLOTS);
                break;
            case SET_MEM_TABLE:
                setMemTable(size, p, nfds);
                break;
            case ADD_MEM_REG: {
                expectSize(request, size, 40);
                if (nfds != 1) {
                    throw ErrnoException.of(Errno.EINVAL, "ADD_MEM_REG with " + nfds + " fds");
                }
                GuestMemory old = memory;
                if (old.regionCount() >= MAX_MEM_SLOTS) {
                    throw ErrnoException.of(Errno.ENOSPC, "all " + MAX_MEM_SLOTS + " memory slots in use");
                }
                stopAll();
                try {
                    memory = old.withRegion(
                            NativeMemory.getLong(p + 8),
                            NativeMemory.getLong(p + 16),
                            NativeMemory.getLong(p + 24),
                            NativeMemory.getLong(p + 32),
                            fds[0]);
                } finally {
                    restartAll();
                }
                break;
            }
            case REM_MEM_REG: {
                expectSize(request, size, 40);
                GuestMemory old = memory;
                int i = old.find(NativeMemory.getLong(p + 8), NativeMemory.getLong(p + 16));
                if (i < 0) {
                    throw ErrnoException.of(Errno.ENOENT, "REM_MEM_REG of a region we do not have");
                }
                stopAll();
                try {
                    memory = old.without(i);
                } finally {
                    restartAll();
                }
                break;
            }
            case SET_VRING_NUM: {
                expectSize(request, size, 8);
                Virtqueue q = queue(NativeMemory.getInt(p) & 0xffffffffL);
                int num = NativeMemory.getInt(p + 4);
                if (num <= 0 || num > 32768 || (num & (num - 1)) != 0) {
                    throw ErrnoException.of(Errno.EINVAL, "queue size " + num + " is not a power of 2 up to 32768");
                }
                q.stop();
                q.size = num;
                q.translate(memory);
                reconcile(q);
                break;
            }
            case SET_VRING_ADDR: {
                expectSize(request, size, 40);
                Virtqueue q = queue(NativeMemory.getInt(p) & 0xffffffffL);
                long d = NativeMemory.getLong(p + 8);
                long u = NativeMemory.getLong(p + 16);
                long a = NativeMemory.getLong(p + 24);
                if ((d & 15) != 0 || (a & 1) != 0 || (u & 3) != 0) {
                    throw ErrnoException.of(Errno.EINVAL, "misaligned ring addresses for queue " + q.index);
                }
                q.stop();
                q.logUsedRing = (NativeMemory.getInt(p + 4) & VRING_F_LOG) != 0;
                q.logGuestAddr = NativeMemory.getLong(p + 32);
                q.descUva = d;
                q.usedUva = u;
                q.availUva = a;
                q.addressesSet = true;
                if (!q.translate(memory)) {
                    LOG.error("queue {}: ring addresses outside guest memory", q.index);
                    r.failed = true;
                }
                reconcile(q);
                break;
            }
            case SET_VRING_BASE: {
                expectSize(request, size, 8);
                Virtqueue q = queue(NativeMemory.getInt(p) & 0xffffffffL);
                q.stop();
                q.setBase(NativeMemory.getInt(p + 4));
                reconcile(q);
                break;
            }
            case GET_VRING_BASE: {
                r.hasReply = true;
                expectSize(request, size, 8);
                Virtqueue q = queue(NativeMemory.getInt(p) & 0xffffffffL);
                q.stop();
                int base = q.lastAvail;
                q.closeKick();
                q.setCall(-1);
                q.setBase(0);
                q.broken = false;
                NativeMemory.putInt(p, q.index);
                NativeMemory.putInt(p + 4, base);
                r.replySize = 8;
                break;
            }
            case SET_VRING_KICK:
            case SET_VRING_CALL:
            case SET_VRING_ERR: {
                expectSize(request, size, 8);
                long v = NativeMemory.getLong(p);
                Virtqueue q = queue(v & VRING_IDX_MASK);
                boolean noFd = (v & VRING_NOFD_MASK) != 0;
                if (!noFd && nfds != 1) {
                    throw ErrnoException.of(Errno.EINVAL, name(request) + " without an fd");
                }
                int fd = noFd ? -1 : fds[0];
                r.keptFds = noFd ? 0 : 1;
                if (request == SET_VRING_CALL) {
                    q.setCall(fd);
                } else if (request == SET_VRING_ERR) {
                    Linux.close(q.errFd);
                    q.errFd = fd;
                } else {
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
                break;
            }
            case SET_VRING_ENABLE: {
                expectSize(request, size, 8);
                Virtqueue q = queue(NativeMemory.getInt(p) & 0xffffffffL);
                int enable = NativeMemory.getInt(p + 4);
                if (enable != 0 && enable != 1) {
                    throw ErrnoException.of(Errno.EINVAL, "SET_VRING_ENABLE " + enable);
                }
                q.enabled = enable == 1;
                if (!q.enabled) {
                    q.stop();
                }
                reconcile(q);
                break;
            }
            case SET_STATUS:
                expectSize(request, size, 8);
                status = NativeMemory.getLong(p) & 0xff;
                break;
            case GET_STATUS:
                r.hasReply = true;
                expectSize(request, size, 0);
                replyU64(r, status);
                break;
            case SET_LOG_BASE:
                setLogBase(size, p, nfds, r);
                break;
            case SET_LOG_FD:
                // An eventfd to tell the front end about log changes; the shared-memory log needs none.
                expectSize(request, size, 8);
                break;
            case SET_DEVICE_STATE_FD:
                setDeviceStateFd(size, p, nfds, r);
                break;
            case CHECK_DEVICE_STATE:
                expectSize(request, size, 0);
                replyU64(r, checkDeviceState() ? 0 : 1);
                break;
            case GET_CONFIG:
                getConfig(size, p, r);
                break;
            case SET_CONFIG:
                // the tag is ours to say; the virtio-fs config space is read-only for the driver
                throw ErrnoException.of(Errno.EPERM, "SET_CONFIG: the virtio-fs config space is read-only");
            default:
                throw ErrnoException.of(Errno.EOPNOTSUPP, "unsupported message");
        }
    }

    /**
     * SET_LOG_BASE (with LOG_SHMFD): maps the front end's dirty bitmap, {@code u64 mmap_size, u64
     * mmap_offset} plus its fd, and answers with the same payload, as the front end waits for a reply.
     * The queues stop while the log changes, so that no thread marks a bitmap being unmapped.
     */
    private void setLogBase(int size, long p, int nfds, Result r) throws ErrnoException {
        expectSize(SET_LOG_BASE, size, 16);
        if (nfds != 1) {
            throw ErrnoException.of(
                    Errno.EINVAL, "SET_LOG_BASE with " + nfds + " fds (only a shared-memory log is supported)");
        }
        DirtyLog fresh = DirtyLog.map(fds[0], NativeMemory.getLong(p), NativeMemory.getLong(p + 8));
        stopAll();
        DirtyLog old = logMapping;
        logMapping = fresh;
        updateActiveLog();
        if (old != null) {
            old.close();
        }
        restartAll();
        LOG.info("dirty page log of {} pages set by the front end (live migration)", fresh.pages());
        r.hasReply = true;
        r.replySize = 16;
    }

    /**
     * SET_DEVICE_STATE_FD: {@code u32 direction, u32 phase} and a pipe end. The reply's bits 0-7 are
     * the error, bit 8 says no fd of ours comes back (we always use the front end's pipe).
     */
    private void setDeviceStateFd(int size, long p, int nfds, Result r) throws ErrnoException {
        expectSize(SET_DEVICE_STATE_FD, size, 8);
        if (nfds != 1) {
            throw ErrnoException.of(Errno.EINVAL, "SET_DEVICE_STATE_FD with " + nfds + " fds");
        }
        int direction = NativeMemory.getInt(p);
        int phase = NativeMemory.getInt(p + 4);
        r.hasReply = true;
        r.replySize = 8;
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
        r.keptFds = 1;
        int fd = fds[0];
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

    /** CHECK_DEVICE_STATE: waits for the transfer; a loaded session becomes the device's session. */
    private boolean checkDeviceState() {
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
    private void getConfig(int size, long p, Result r) throws ErrnoException {
        if (config == null || (ackedProtocolFeatures & PF_CONFIG) == 0) {
            throw ErrnoException.of(Errno.EOPNOTSUPP, "GET_CONFIG without VHOST_USER_PROTOCOL_F_CONFIG");
        }
        if (size < 12) {
            throw malformed(GET_CONFIG, size);
        }
        long offset = NativeMemory.getInt(p) & 0xffffffffL;
        long length = NativeMemory.getInt(p + 4) & 0xffffffffL;
        if (length > MAX_PAYLOAD - 12 || 12 + length > size) {
            throw malformed(GET_CONFIG, size);
        }
        for (int i = 0; i < length; i++) {
            long at = offset + i;
            NativeMemory.putByte(p + 12 + i, at < config.length ? config[(int) at] : 0);
        }
        r.hasReply = true;
        r.replySize = (int) (12 + length);
    }

    private void setMemTable(int size, long p, int nfds) throws ErrnoException {
        if (size < 8) {
            throw malformed(SET_MEM_TABLE, size);
        }
        int n = NativeMemory.getInt(p);
        if (n < 0 || n > 8 || size != 8 + 32 * n) {
            throw malformed(SET_MEM_TABLE, size);
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
                        fds[i]);
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

    private void resetDevice() {
        for (Virtqueue q : queues) {
            q.stop();
            q.reset();
        }
        ackedFeatures = 0;
        updateActiveLog();
        status = 0;
        closeSession();
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
        for (Thread t : pool) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            if (blockingExecutor != null) {
                blockingExecutor.shutdown();
            }
        }
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
        NativeMemory.free(buf);
    }
}
