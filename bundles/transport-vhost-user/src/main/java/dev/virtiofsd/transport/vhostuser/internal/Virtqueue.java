package dev.virtiofsd.transport.vhostuser.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.transport.FuseWorker;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.PollFds;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ArrayBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One split virtqueue (virtio 1.x, 2.7): descriptor table, avail ring and used ring in guest
 * memory, plus the thread that drains it. Configuration fields are written by the vhost-user
 * message thread only while the queue thread is stopped.
 */
public final class Virtqueue {
    private static final Logger LOG = LoggerFactory.getLogger(Virtqueue.class);

    static final int DESC_F_NEXT = 1;
    static final int DESC_F_WRITE = 2;
    static final int DESC_F_INDIRECT = 4;
    static final int AVAIL_F_NO_INTERRUPT = 1;
    static final int FUSE_INIT = 26;
    /** A lock request that may sleep until another request releases the lock. */
    static final int FUSE_SETLKW = 33;
    /** Largest segment we hand out; longer descriptors are split (SegmentList lengths are ints). */
    private static final long MAX_SEGMENT = 1L << 30;

    /** Parse results. */
    static final int OK = 0;

    static final int BAD_REQUEST = 1;
    static final int BROKEN = 2;

    final int index;
    private final VhostUserDevice device;

    // Configuration (message thread, queue stopped).
    int size;
    long descUva;
    long availUva;
    long usedUva;
    boolean addressesSet;
    /** SET_VRING_ADDR's {@code log_guest_addr}, valid when {@link #logUsedRing}: the used ring's guest address. */
    long logGuestAddr;

    boolean logUsedRing;
    /** Guest-physical address of the used ring for the dirty log; -1 if unknown. */
    private long usedGpa = -1;

    long desc;
    long avail;
    long used;
    int kickFd = -1;
    boolean kickSet;
    int errFd = -1;
    boolean enabled;
    volatile boolean broken;
    boolean eventIdx;
    boolean indirect;

    // Ring state.
    int lastAvail;
    private int nextUsed;
    private int signalledUsed;
    private boolean signalledValid;
    private boolean usedSinceNotify;

    /** Guards the used ring, the call fd and notification state. */
    private final Object usedLock = new Object();

    private int callFd = -1;
    private final long eventBuf = NativeMemory.allocate(16);

    // Thread state.
    private Thread thread;
    private int stopFd = -1;
    private volatile boolean stopping;
    /** Longest a queue thread watches its ring before it sleeps; 0 turns adaptive polling off. */
    private static final long SPIN_LIMIT_NANOS = 1000L * Long.getLong("virtiofsd.vhostuser.poll-micros", 50);
    /** Typical idle gap of this queue (queue thread only). */
    private long gapNanos = 10 * SPIN_LIMIT_NANOS;

    private int inflight;
    private final Object inflightLock = new Object();
    private ArrayBlockingQueue<Request> freeRequests;
    /** Requests running on the device's blocking executor (SETLKW); interrupted when the queue stops. */
    private final java.util.Set<Request> blocking = java.util.concurrent.ConcurrentHashMap.newKeySet();

    Virtqueue(VhostUserDevice device, int index) {
        this.device = device;
        this.index = index;
    }

    boolean running() {
        return thread != null;
    }

    /** Resets to the state just after SET_OWNER; the queue must be stopped. */
    void reset() {
        size = 0;
        addressesSet = false;
        logUsedRing = false;
        logGuestAddr = 0;
        desc = avail = used = 0;
        closeKick();
        setCall(-1);
        Linux.close(errFd);
        errFd = -1;
        enabled = false;
        broken = false;
        lastAvail = 0;
        nextUsed = 0;
        signalledValid = false;
        usedSinceNotify = false;
    }

    void closeKick() {
        Linux.close(kickFd);
        kickFd = -1;
        kickSet = false;
    }

    void setBase(int base) {
        lastAvail = base & 0xffff;
        nextUsed = base & 0xffff;
        signalledValid = false;
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

    /** Translates the ring addresses through {@code mem}; false if any lies outside it. */
    boolean translate(GuestMemory mem) {
        if (!addressesSet || size == 0) {
            desc = avail = used = 0;
            return false;
        }
        desc = mem.translateUva(descUva, 16L * size);
        avail = mem.translateUva(availUva, 6L + 2L * size);
        used = mem.translateUva(usedUva, 6L + 8L * size);
        usedGpa = logUsedRing ? logGuestAddr : (used != 0 ? mem.gpaOfHost(used) : -1);
        return desc != 0 && avail != 0 && used != 0;
    }

    boolean shouldRun() {
        return kickSet && enabled && !broken && size > 0 && desc != 0 && avail != 0 && used != 0;
    }

    // ---- thread control --------------------------------------------------------------------

    void start() throws ErrnoException {
        if (thread != null) {
            return;
        }
        stopFd = Linux.eventfd(0, 0);
        stopping = false;
        if (device.poolSize() > 0
                && (freeRequests == null || freeRequests.remainingCapacity() + freeRequests.size() != size)) {
            freeRequests = new ArrayBlockingQueue<>(size);
            for (int i = 0; i < size; i++) {
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
                // Sleeping lock requests would wait forever (their releaser may be gone with
                // the guest): wake them; they answer EINTR.
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
        WorkerSlot slot = new WorkerSlot();
        Segments in = new Segments(16);
        Segments out = new Segments(16);
        long eventCount = NativeMemory.allocate(8);
        // slot 0: the stop eventfd; slot 1: the kick eventfd
        PollFds poll = new PollFds(2);
        try {
            drain(slot, in, out);
            while (!stopping && !broken) {
                long idleSince = System.nanoTime();
                if (kickFd >= 0 && spinForWork(idleSince)) {
                    learnGap(System.nanoTime() - idleSince);
                    drain(slot, in, out);
                    continue;
                }
                poll.set(0, stopFd, Linux.POLLIN).set(1, kickFd, Linux.POLLIN);
                // Without a kick fd the front end asked for polling.
                int n;
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
                learnGap(System.nanoTime() - idleSince);
                drain(slot, in, out);
            }
        } catch (ErrnoException e) {
            LOG.error("queue {}: {}", index, e.getMessage());
        } catch (RuntimeException | Error e) {
            LOG.error("queue {}: unexpected failure, marking the queue broken", index, e);
            broken = true;
        } finally {
            NativeMemory.free(eventCount);
            poll.close();
            slot.close();
        }
    }

    /**
     * Adaptive polling: when requests have been arriving soon after the ring went idle (a fast
     * driver with one request in flight), watch the avail ring for about that long before sleeping
     * in poll, which saves both sides a sleep and a wake-up. When gaps are long (an idle guest, a
     * slow one), it does not spin at all, so it costs no CPU there.
     */
    private boolean spinForWork(long idleSince) {
        long typical = gapNanos;
        if (SPIN_LIMIT_NANOS == 0 || typical > SPIN_LIMIT_NANOS) {
            return false;
        }
        long deadline = idleSince + Math.min(SPIN_LIMIT_NANOS, 2 * typical + 2_000);
        do {
            if ((NativeMemory.getShort(avail + 2) & 0xffff) != lastAvail) {
                return true;
            }
            Thread.onSpinWait();
        } while (!stopping && System.nanoTime() < deadline);
        return false;
    }

    /** Moving average (1/8 weight) of how long the ring stayed idle before the next request. */
    private void learnGap(long gap) {
        gapNanos += (Math.min(gap, 10 * SPIN_LIMIT_NANOS) - gapNanos) >> 3;
    }

    /** Drains the avail ring until it is empty, one notification per batch. */
    private void drain(WorkerSlot slot, Segments in, Segments out) {
        while (!stopping && !broken) {
            int availIdx = NativeMemory.getShort(avail + 2) & 0xffff;
            VarHandle.acquireFence();
            int pending = (availIdx - lastAvail) & 0xffff;
            if (pending > size) {
                markBroken("avail index " + availIdx + " is " + pending + " ahead of " + lastAvail + " (queue size "
                        + size + ")");
                return;
            }
            if (pending == 0) {
                if (eventIdx) {
                    // Ask for a kick at the next entry, then look again: the driver may have
                    // added one before it saw our avail_event.
                    NativeMemory.putShort(used + 4 + 8L * size, (short) lastAvail);
                    DirtyLog log = device.dirtyLog();
                    if (log != null) {
                        logUsed(log, 4 + 8L * size, 2);
                    }
                    VarHandle.fullFence();
                    int again = NativeMemory.getShort(avail + 2) & 0xffff;
                    if (again != lastAvail) {
                        continue;
                    }
                }
                notifyIfNeeded();
                return;
            }
            for (int i = 0; i < pending && !stopping; i++) {
                int head = NativeMemory.getShort(avail + 4 + 2L * (lastAvail & (size - 1))) & 0xffff;
                lastAvail = (lastAvail + 1) & 0xffff;
                if (!serve(head, slot, in, out)) {
                    return;
                }
            }
            notifyIfNeeded();
        }
    }

    /** Parses and serves (or hands to the pool) one chain; false if the queue broke. */
    private boolean serve(int head, WorkerSlot slot, Segments in, Segments out) {
        if (device.poolSize() > 0) {
            Request r;
            try {
                r = freeRequests.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            int status = parse(head, r.in, r.out);
            if (status == BROKEN) {
                freeRequests.add(r);
                return false;
            }
            r.head = head;
            r.status = status;
            synchronized (inflightLock) {
                inflight++;
            }
            if (status == OK && r.in.opcode() == FUSE_SETLKW) {
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
        if (status == BROKEN) {
            return false;
        }
        if (status == OK && in.opcode() == FUSE_SETLKW) {
            // A sleeping lock must not stall the queue: the request that releases the lock may
            // be behind it on this ring. Rare, so a fresh Request is fine.
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
        logWrites(out);
        pushUsed(head, len);
        return true;
    }

    /** Runs one parsed request; returns the used length. Called on a queue or pool thread. */
    int handle(int status, Segments in, Segments out, WorkerSlot slot) {
        if (status == BAD_REQUEST) {
            return errorReply(in, out, slot, Errno.EIO);
        }
        if (in.opcode() == FUSE_INIT) {
            device.onInit();
        }
        FuseWorker w = device.worker(slot);
        int len = w.handle(in, out);
        return len < 0 ? 0 : len;
    }

    /** Hands a SETLKW to a thread of its own; when too many already wait, answers ENOLCK now. */
    private void startBlocking(Request r, WorkerSlot slot) {
        blocking.add(r);
        if (!device.runBlocking(r)) {
            blocking.remove(r);
            complete(r, errorReply(r.in, r.out, slot, Errno.ENOLCK));
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
        logWrites(r.out);
        pushUsed(r.head, len);
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

    /** A FUSE error reply without asking the dispatcher (unusable request: EIO; too many lock waiters: ENOLCK). */
    private int errorReply(Segments in, Segments out, WorkerSlot slot, int errno) {
        if (out.totalLength() < 16) {
            return 0;
        }
        long unique = in.readU64(8);
        long b = slot.scratch;
        NativeMemory.putInt(b, 16);
        NativeMemory.putInt(b + 4, -errno);
        NativeMemory.putLong(b + 8, unique);
        out.writeAtStart(b, 16);
        return 16;
    }

    void markBroken(String why) {
        if (!broken) {
            broken = true;
            LOG.error("queue {} is broken: {}; it serves nothing more until the device is reset", index, why);
        }
    }

    // ---- descriptor chains ---------------------------------------------------------------

    /**
     * Walks the chain at {@code head} into readable ({@code in}) and writable ({@code out})
     * segments. An address outside guest memory in the readable part gives BAD_REQUEST; a broken
     * chain (loop, bad index, bad indirect table, unusable writable part) marks the queue broken.
     */
    int parse(int head, Segments in, Segments out) {
        in.clear();
        out.clear();
        GuestMemory mem = device.memory();
        if (head >= size) {
            markBroken("descriptor head " + head + " out of range");
            return BROKEN;
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
                markBroken("descriptor chain at head " + head + " is longer than its table (a loop?)");
                return BROKEN;
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
                    markBroken("bad indirect descriptor at head " + head);
                    return BROKEN;
                }
                long t = mem.translateGpa(addr, len);
                if (t == 0) {
                    markBroken("indirect table of head " + head + " outside guest memory");
                    return BROKEN;
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
                    markBroken("writable descriptor 0x" + Long.toHexString(addr) + "+" + len + " outside guest memory");
                    return BROKEN;
                }
            } else if (sawWrite || !addSegments(mem, in, addr, len)) {
                badRead = true;
            }
            if ((flags & DESC_F_NEXT) == 0) {
                break;
            }
            idx = next;
            if (idx >= tableSize) {
                markBroken("descriptor next index " + idx + " out of range in chain at head " + head);
                return BROKEN;
            }
        }
        if (badRead) {
            LOG.debug("queue {}: readable descriptor outside guest memory in head {}", index, head);
            if (out.totalLength() < 16 && index != 0) {
                markBroken("request at head " + head + " has unusable descriptors and no room for an error reply");
                return BROKEN;
            }
            return BAD_REQUEST;
        }
        return OK;
    }

    /** Adds {@code [addr, addr+len)} as host segments, split at region ends; false if not all mapped. */
    private static boolean addSegments(GuestMemory mem, Segments s, long addr, long len) {
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

    // ---- used ring and notification ------------------------------------------------------

    /**
     * While the front end logs dirty pages (live migration), marks the whole writable part of a
     * request: every byte the daemon may have written there, reply header, READ data, directory
     * entries. Called before the used entry that hands the buffers back. Costs one volatile read
     * when logging is off.
     */
    private void logWrites(Segments out) {
        DirtyLog log = device.dirtyLog();
        if (log == null) {
            return;
        }
        GuestMemory mem = device.memory();
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

    private void pushUsed(int head, int len) {
        synchronized (usedLock) {
            int slot = nextUsed & (size - 1);
            long e = used + 4 + 8L * slot;
            NativeMemory.putInt(e, head);
            NativeMemory.putInt(e + 4, len);
            nextUsed = (nextUsed + 1) & 0xffff;
            VarHandle.releaseFence();
            NativeMemory.putShort(used + 2, (short) nextUsed);
            DirtyLog log = device.dirtyLog();
            if (log != null) {
                logUsed(log, 4 + 8L * slot, 8);
                logUsed(log, 2, 2);
            }
            usedSinceNotify = true;
        }
    }

    private void notifyIfNeeded() {
        synchronized (usedLock) {
            notifyLocked();
        }
    }

    private void notifyLocked() {
        if (!usedSinceNotify) {
            return;
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
        if (need && callFd >= 0) {
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
        final Segments in = new Segments(16);
        final Segments out = new Segments(16);
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
