package dev.virtiofsd.fuse.internal;

import dev.virtiofsd.api.fs.FileSystem;
import dev.virtiofsd.api.transport.FuseSession;
import dev.virtiofsd.api.transport.FuseWorker;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One FUSE connection: what INIT negotiated, shared by the workers of that connection. */
final class FuseSessionImpl implements FuseSession {
    private static final Logger LOG = LoggerFactory.getLogger(FuseSessionImpl.class);

    private final FuseServerImpl server;
    private final FileSystem fs;
    final int maxWrite;
    private final List<WorkerStats> workerStats = new CopyOnWriteArrayList<>();
    private final AtomicBoolean destroyed = new AtomicBoolean();
    private volatile boolean closed;
    /** Workers blocked in a sleeping lock request, by request unique, for INTERRUPT. */
    private final java.util.concurrent.ConcurrentHashMap<Long, Thread> sleepers =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** Negotiated minor; 0 until INIT. Written before {@link #initialized} (volatile publication). */
    private volatile int minor;

    private volatile long flags;
    private volatile boolean initialized;

    FuseSessionImpl(FuseServerImpl server, FileSystem fs, int maxWrite) {
        this.server = server;
        this.fs = fs;
        this.maxWrite = maxWrite;
    }

    @Override
    public FuseWorker newWorker() {
        if (closed) {
            throw new IllegalStateException("session closed");
        }
        WorkerStats stats = new WorkerStats();
        workerStats.add(stats);
        return new FuseWorkerImpl(this, fs, stats);
    }

    void sleeping(long unique, Thread worker) {
        sleepers.put(unique, worker);
    }

    void awake(long unique) {
        sleepers.remove(unique);
    }

    void interrupt(long unique) {
        Thread t = sleepers.get(unique);
        if (t != null) {
            t.interrupt();
        }
    }

    @Override
    public boolean initialized() {
        return initialized;
    }

    /** The negotiated minor version, 0 before INIT. */
    int minor() {
        return minor;
    }

    /** The INIT flags sent to the kernel, {@code flags | flags2 << 32} (see {@link dev.virtiofsd.api.fs.InitFlags}). */
    long flags() {
        return flags;
    }

    void initDone(int minor, long flags) {
        // a virtio-fs guest may unmount (DESTROY) and mount again (INIT) on the same connection
        destroyed.set(false);
        this.minor = minor;
        this.flags = flags;
        this.initialized = true;
    }

    /**
     * INIT on an initialized session: the client restarted without DESTROY (a guest reboot keeps
     * the vhost-user connection). Its inodes are released, as at DESTROY, before INIT goes on.
     */
    void restart() {
        LOG.info("FUSE INIT on an initialized session: the guest restarted; releasing what it held");
        destroy();
    }

    /** DESTROY, or the connection went away: tell the filesystem once. */
    void destroy() {
        initialized = false;
        if (destroyed.compareAndSet(false, true)) {
            fs.destroy();
        }
    }

    List<WorkerStats> workerStats() {
        return workerStats;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            destroy();
        } catch (RuntimeException e) {
            LOG.warn("FileSystem.destroy failed on session close: {}", e.toString(), e);
        } finally {
            server.sessionClosed(this);
        }
    }
}
