package dev.virtiofsd.transport.vhostuser.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.introspect.QueueFigures;
import dev.virtiofsd.api.transport.FuseWorker;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.PollFds;
import java.util.concurrent.ArrayBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One virtqueue of the device: what the vhost-user messages configured (size, ring addresses,
 * kick/call/error eventfds, enabled), its {@link SplitRing}, and the queue thread that drains the
 * ring and hands each chain to a FUSE worker. Configuration is written by the vhost-user message
 * thread only while the queue thread is stopped.
 */
public final class Virtqueue {
    private static final Logger LOG = LoggerFactory.getLogger(Virtqueue.class);

    /**
     * Writable bytes a request chain needs for an error reply (a fuse_out_header): a request queue
     * chain with an unusable readable part and less room than this cannot be answered at all.
     */
    static final int ERROR_REPLY_ROOM = 16;

    final int index;
    private final VhostUserDevice device;
    final SplitRing ring = new SplitRing();

    // Configuration (message thread, queue stopped).
    private long descUva;
    private long availUva;
    private long usedUva;
    private boolean addressesSet;
    /** SET_VRING_ADDR's {@code log_guest_addr} with VRING_F_LOG: the used ring's guest address, else -1. */
    private long logGuestAddr = -1;

    int kickFd = -1;
    boolean kickSet;
    int errFd = -1;
    boolean enabled;
    volatile boolean broken;

    /** Guards the used side of the ring, the call fd and notification state. */
    private final Object usedLock = new Object();

    private int callFd = -1;
    private final long eventBuf = NativeMemory.allocate(16);

    // Thread state.
    private Thread thread;
    private int stopFd = -1;
    private volatile boolean stopping;
    /** Whether a queue thread is in {@link #run} now (for the figures; {@link #running} is the message thread's view). */
    private volatile boolean serving;
    /** What this queue's threads did, across restarts; written by the queue thread only. */
    private final QueueCounters counters = new QueueCounters();
    /** Longest a queue thread watches its ring before it sleeps; 0 turns adaptive polling off. */
    private static final long SPIN_LIMIT_NANOS = 1000L * Long.getLong("virtiofsd.vhostuser.poll-micros", 50);
    /** The sleep cost assumed until the queue thread has timed its own sleeps. */
    private static final long INITIAL_SLEEP_COST_NANOS = 3_000;

    private int inflight;
    private final Object inflightLock = new Object();
    private ArrayBlockingQueue<Request> freeRequests;
    /** Requests running on the device's blocking executor (those that may sleep); interrupted when the queue stops. */
    private final java.util.Set<Request> blocking = java.util.concurrent.ConcurrentHashMap.newKeySet();

    Virtqueue(VhostUserDevice device, int index) {
        this.device = device;
        this.index = index;
    }

    boolean running() {
        return thread != null;
    }

    /** This queue's figures now; any thread. */
    QueueFigures figures() {
        return counters.figures(index, serving);
    }

    /** Resets to the state just after SET_OWNER; the queue must be stopped. */
    void reset() {
        ring.reset();
        addressesSet = false;
        logGuestAddr = -1;
        closeKick();
        setCall(-1);
        Linux.close(errFd);
        errFd = -1;
        enabled = false;
        broken = false;
    }

    void closeKick() {
        Linux.close(kickFd);
        kickFd = -1;
        kickSet = false;
    }

    /** SET_VRING_NUM; the queue must be stopped. */
    void setSize(int size) {
        ring.size = size;
    }

    /** SET_VRING_ADDR (front-end virtual addresses); {@code logGuestAddr} -1 without VRING_F_LOG. */
    void setAddresses(long desc, long used, long avail, long logGuestAddr) {
        descUva = desc;
        usedUva = used;
        availUva = avail;
        this.logGuestAddr = logGuestAddr;
        addressesSet = true;
    }

    void setBase(int base) {
        ring.setBase(base);
    }

    /** Replaces the call eventfd (may happen while running); closes the old one. */
    void setCall(int fd) {
        int old;
        synchronized (usedLock) {
            old = callFd;
            callFd = fd;
            if (fd >= 0 && thread != null) {
                // A completion may have been signalled to the old fd (or to none): one spurious
                // interrupt is harmless, a lost one hangs the guest.
                NativeMemory.putLong(eventBuf, 1);
                try {
                    Linux.write(fd, eventBuf, 8);
                } catch (ErrnoException e) {
                    LOG.debug("queue {}: call eventfd write failed: {}", index, e.getMessage());
                }
            }
        }
        Linux.close(old);
    }

    /** Maps the ring through {@code mem}; false if any part lies outside it (or it is not configured). */
    boolean translate(GuestMemory mem) {
        if (!addressesSet) {
            ring.unmap();
            return false;
        }
        return ring.map(mem, descUva, availUva, usedUva, logGuestAddr);
    }

    boolean shouldRun() {
        return kickSet && enabled && !broken && ring.size > 0 && ring.mapped();
    }

    // ---- thread control --------------------------------------------------------------------

    void start() throws ErrnoException {
        if (thread != null) {
            return;
        }
        stopFd = Linux.eventfd(0, 0);
        stopping = false;
        if (device.poolSize() > 0
                && (freeRequests == null || freeRequests.remainingCapacity() + freeRequests.size() != ring.size)) {
            freeRequests = new ArrayBlockingQueue<>(ring.size);
            for (int i = 0; i < ring.size; i++) {
                freeRequests.add(new Request(this));
            }
        }
        thread = new Thread(this::run, "vhost-user-queue-" + index);
        thread.setDaemon(true);
        thread.start();
    }

    /** Stops the queue thread after every popped request has been completed. */
    void stop() {
        Thread t = thread;
        if (t == null) {
            return;
        }
        stopping = true;
        long one = NativeMemory.allocate(8);
        try {
            NativeMemory.putLong(one, 1);
            Linux.write(stopFd, one, 8);
        } catch (ErrnoException e) {
            LOG.warn("queue {}: cannot wake its thread: {}", index, e.getMessage());
        } finally {
            NativeMemory.free(one);
        }
        boolean interrupted = false;
        while (t.isAlive()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        synchronized (inflightLock) {
            while (inflight > 0) {
                // Requests that may sleep (a lock whose releaser may be gone with the guest)
                // would wait forever: wake them; the worker answers them EINTR.
                for (Request r : blocking) {
                    Thread runner = r.runner;
                    if (runner != null) {
                        runner.interrupt();
                    }
                }
                try {
                    inflightLock.wait(50);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Linux.close(stopFd);
        stopFd = -1;
        thread = null;
    }

    private void run() {
        serving = true;
        QueueFigures atStart = counters.figures(index, true);
        WorkerSlot slot = new WorkerSlot();
        ChainSegments in = new ChainSegments(16);
        ChainSegments out = new ChainSegments(16);
        long eventCount = NativeMemory.allocate(8);
        // slot 0: the stop eventfd; slot 1: the kick eventfd
        PollFds poll = new PollFds(2);
        SpinGovernor governor = new SpinGovernor(SPIN_LIMIT_NANOS, INITIAL_SLEEP_COST_NANOS, counters);
        try {
            long budget = nextBudget(governor);
            drain(slot, in, out, budget == 0);
            while (!stopping && !broken) {
                if (budget > 0) {
                    // The ring is empty and, with EVENT_IDX, not yet armed: a driver adding a
                    // request now need not kick us (a VM exit for a guest) while we watch.
                    long t0 = System.nanoTime();
                    boolean caught = watch(t0 + budget);
                    governor.watched(caught, System.nanoTime() - t0);
                    if (caught || armAndRecheck()) {
                        budget = nextBudget(governor);
                        drain(slot, in, out, budget == 0);
                        continue;
                    }
                }
                poll.set(0, stopFd, Linux.POLLIN).set(1, kickFd, Linux.POLLIN);
                boolean timed = governor.sampleNextSleep();
                long cpu0 = timed ? Linux.threadCpuNanos() : 0;
                // Without a kick fd the front end asked for polling.
                int n;
                counters.sleeping();
                try {
                    n = poll.poll(kickFd >= 0 ? 2 : 1, kickFd >= 0 ? -1 : 1);
                } catch (ErrnoException e) {
                    if (e.errno() == Errno.EINTR) {
                        continue; // a signal (JFR sampling, a debugger) is no reason to stop serving
                    }
                    throw e;
                }
                if (stopping || poll.revents(0) != 0) {
                    break;
                }
                if (n > 0 && kickFd >= 0) {
                    int rev = poll.revents(1);
                    if ((rev & (Linux.POLLERR | Linux.POLLNVAL | Linux.POLLHUP)) != 0) {
                        LOG.error("queue {}: kick fd failed (poll events {})", index, rev);
                        break;
                    }
                    try {
                        Linux.read(kickFd, eventCount, 8);
                    } catch (ErrnoException e) {
                        // EAGAIN on a non-blocking eventfd: nothing to clear
                    }
                }
                if (timed && cpu0 >= 0) {
                    governor.slept(Linux.threadCpuNanos() - cpu0);
                }
                budget = nextBudget(governor);
                drain(slot, in, out, budget == 0);
            }
        } catch (ErrnoException e) {
            LOG.error("queue {}: {}", index, e.getMessage());
        } catch (RuntimeException | Error e) {
            LOG.error("queue {}: unexpected failure, marking the queue broken", index, e);
            broken = true;
        } finally {
            NativeMemory.free(eventCount);
            poll.close();
            serving = false;
            logTotals(atStart);
        }
    }

    /**
     * One line with what this thread did, at INFO if it served anything: a thread stopped while the
     * front end still sets the device up (several times at boot) has nothing to say.
     */
    private void logTotals(QueueFigures atStart) {
        QueueFigures atEnd = counters.figures(index, false);
        if (atEnd.served() > atStart.served()) {
            LOG.info("{}", QueueCounters.stopLine(atStart, atEnd));
        } else if (LOG.isDebugEnabled()) {
            LOG.debug("{}", QueueCounters.stopLine(atStart, atEnd));
        }
    }

    /** How long to watch the ring once it is empty; 0 without a kick fd (the thread polls then). */
    private long nextBudget(SpinGovernor governor) {
        return kickFd >= 0 ? governor.budget() : 0;
    }

    /**
     * Watches the avail ring until {@code deadline} (System.nanoTime): true as soon as a request
     * is there. How long, and whether at all, {@link SpinGovernor} decides: only as long as it
     * pays for itself in CPU.
     */
    private boolean watch(long deadline) {
        do {
            if (ring.hasNewEntries()) {
                return true;
            }
            Thread.onSpinWait();
        } while (!stopping && System.nanoTime() < deadline);
        return false;
    }

    /**
     * With EVENT_IDX: asks the driver for a kick at the next entry, then looks again, since the
     * driver may have added one before it saw our avail_event. True if there is work.
     */
    private boolean armAndRecheck() {
        return ring.eventIdx && ring.requestKickAndRecheck(device.dirtyLog());
    }

    /**
     * Drains the avail ring until it is empty, one notification per batch. {@code arm}: ask for a
     * kick once empty (false when the caller watches the ring next and arms after the watch).
     */
    private void drain(WorkerSlot slot, ChainSegments in, ChainSegments out, boolean arm) {
        while (!stopping && !broken) {
            int availIdx = ring.availIndex();
            int pending = ring.pending(availIdx);
            if (pending > ring.size) {
                markBroken("avail index " + availIdx + " is " + pending + " ahead of " + ring.lastAvail()
                        + " (queue size " + ring.size + ")");
                return;
            }
            if (pending == 0) {
                if (arm && armAndRecheck()) {
                    continue;
                }
                notifyIfNeeded();
                return;
            }
            for (int i = 0; i < pending && !stopping; i++) {
                counters.served();
                if (!serve(ring.takeHead(), slot, in, out)) {
                    return;
                }
            }
            notifyIfNeeded();
        }
    }

    /** Parses and serves (or hands to the pool) one chain; false if the queue broke. */
    private boolean serve(int head, WorkerSlot slot, ChainSegments in, ChainSegments out) {
        if (device.poolSize() > 0) {
            Request r;
            try {
                r = freeRequests.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            int status = parse(head, r.in, r.out);
            if (status == SplitRing.BROKEN) {
                freeRequests.add(r);
                return false;
            }
            r.head = head;
            r.status = status;
            synchronized (inflightLock) {
                inflight++;
            }
            if (status == SplitRing.OK && device.worker(slot).mayBlock(r.in)) {
                startBlocking(r, slot);
                return true;
            }
            try {
                device.submit(r);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                complete(r, 0);
                return false;
            }
            return true;
        }
        int status = parse(head, in, out);
        if (status == SplitRing.BROKEN) {
            return false;
        }
        if (status == SplitRing.OK && device.worker(slot).mayBlock(in)) {
            // A request that may sleep must not stall the queue: the one that wakes it (a lock
            // release) may be behind it on this ring. Rare, so a fresh Request is fine.
            Request r = new Request(this);
            r.pooled = false;
            r.in.copyFrom(in);
            r.out.copyFrom(out);
            r.head = head;
            r.status = status;
            synchronized (inflightLock) {
                inflight++;
            }
            startBlocking(r, slot);
            return true;
        }
        int len = handle(status, in, out, slot);
        pushUsed(head, out, len);
        return true;
    }

    /** Runs one parsed request; returns the used length. Called on a queue or pool thread. */
    int handle(int status, ChainSegments in, ChainSegments out, WorkerSlot slot) {
        FuseWorker w = device.worker(slot);
        int len = status == SplitRing.BAD_REQUEST ? w.replyError(in, out, Errno.EIO) : w.handle(in, out);
        return len < 0 ? 0 : len;
    }

    /** Hands a request that may sleep to a thread of its own; when too many already wait, answers ENOLCK now. */
    private void startBlocking(Request r, WorkerSlot slot) {
        blocking.add(r);
        if (!device.runBlocking(r)) {
            blocking.remove(r);
            int len = device.worker(slot).replyError(r.in, r.out, Errno.ENOLCK);
            complete(r, Math.max(len, 0));
        }
    }

    /** Runs a blocking request on an executor thread. */
    void runBlocking(Request r, WorkerSlot slot) {
        r.runner = Thread.currentThread();
        if (stopping) {
            // The ring is stopping: do not start sleeping.
            r.runner.interrupt();
        }
        int len = 0;
        try {
            len = handle(r.status, r.in, r.out, slot);
        } catch (RuntimeException e) {
            LOG.error("queue {}: request failed", index, e);
        } finally {
            Thread.interrupted();
            r.runner = null;
            blocking.remove(r);
            complete(r, len);
        }
    }

    /** Completes a pooled request (pool thread). */
    void complete(Request r, int len) {
        pushUsed(r.head, r.out, len);
        synchronized (usedLock) {
            notifyLocked();
        }
        if (r.pooled) {
            freeRequests.add(r);
        }
        synchronized (inflightLock) {
            if (--inflight == 0) {
                inflightLock.notifyAll();
            }
        }
    }

    void markBroken(String why) {
        if (!broken) {
            broken = true;
            LOG.error("queue {} is broken: {}; it serves nothing more until the device is reset", index, why);
        }
    }

    /** Parses the chain at {@code head}; a broken chain marks the queue broken. */
    int parse(int head, ChainSegments in, ChainSegments out) {
        int status = ring.parse(head, device.memory(), in, out, index == 0 ? 0 : ERROR_REPLY_ROOM);
        if (status == SplitRing.BROKEN) {
            markBroken(ring.brokenReason());
        } else if (status == SplitRing.BAD_REQUEST) {
            LOG.debug("queue {}: readable descriptor outside guest memory in head {}", index, head);
        }
        return status;
    }

    // ---- used ring and notification ------------------------------------------------------

    /** Hands a chain back: marks its writable part dirty while logging, then the used entry. */
    private void pushUsed(int head, ChainSegments out, int len) {
        DirtyLog log = device.dirtyLog();
        if (log != null) {
            SplitRing.logWrites(log, device.memory(), out);
        }
        synchronized (usedLock) {
            ring.pushUsed(head, len, log);
        }
    }

    private void notifyIfNeeded() {
        synchronized (usedLock) {
            notifyLocked();
        }
    }

    private void notifyLocked() {
        if (ring.needsNotification() && callFd >= 0) {
            NativeMemory.putLong(eventBuf, 1);
            try {
                Linux.write(callFd, eventBuf, 8);
            } catch (ErrnoException e) {
                LOG.debug("queue {}: call eventfd write failed: {}", index, e.getMessage());
            }
        }
    }

    void free() {
        NativeMemory.free(eventBuf);
    }

    /** A request handed to the worker pool: preallocated, one per ring slot. */
    static final class Request {
        final Virtqueue queue;
        final ChainSegments in = new ChainSegments(16);
        final ChainSegments out = new ChainSegments(16);
        int head;
        int status;
        /** Whether it came from (and returns to) the queue's free list. */
        boolean pooled = true;

        volatile Thread runner;

        Request(Virtqueue queue) {
            this.queue = queue;
        }
    }
}
