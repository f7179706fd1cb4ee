package dev.virtiofsd.transport.vhostuser.internal;

import dev.virtiofsd.api.introspect.QueueFigures;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Locale;

/**
 * What one virtqueue's thread has done, kept across restarts of the thread: chains served, watches
 * of the empty ring (caught or missed, and their time), sleeps in poll(2), and the {@link
 * SpinGovernor}'s current sleep cost and back-off.
 *
 * <p>One writer, the queue thread ({@link Virtqueue#stop} joins a thread before the next starts,
 * and start/join order each thread after its predecessor), so "load own field, store it + 1" loses
 * no count and needs neither a lock nor an atomic read-modify-write. Stores are opaque
 * ({@code setOpaque}: a plain store on x86 and arm64, no fence) instead of plain so that a reader
 * never sees a torn long (JLS 17.7 allows tearing of plain longs) and sees each counter advance
 * rather than a value the JIT kept in a register; readers load with {@code getOpaque} and may be a
 * little behind. One order between counters is kept for readers, {@code caught <= watches}:
 * watches is stored before caught, caught with release, and a reader loads caught with acquire
 * before it loads watches.
 */
final class QueueCounters {
    private static final VarHandle SERVED;
    private static final VarHandle WATCHES;
    private static final VarHandle CAUGHT;
    private static final VarHandle CAUGHT_WATCH_NANOS;
    private static final VarHandle MISSED_WATCH_NANOS;
    private static final VarHandle SLEEPS;
    private static final VarHandle SLEEP_COST_NANOS;
    private static final VarHandle BACKING_OFF;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            SERVED = l.findVarHandle(QueueCounters.class, "served", long.class);
            WATCHES = l.findVarHandle(QueueCounters.class, "watches", long.class);
            CAUGHT = l.findVarHandle(QueueCounters.class, "caught", long.class);
            CAUGHT_WATCH_NANOS = l.findVarHandle(QueueCounters.class, "caughtWatchNanos", long.class);
            MISSED_WATCH_NANOS = l.findVarHandle(QueueCounters.class, "missedWatchNanos", long.class);
            SLEEPS = l.findVarHandle(QueueCounters.class, "sleeps", long.class);
            SLEEP_COST_NANOS = l.findVarHandle(QueueCounters.class, "sleepCostNanos", long.class);
            BACKING_OFF = l.findVarHandle(QueueCounters.class, "backingOff", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private long served;
    private long watches;
    private long caught;
    private long caughtWatchNanos;
    private long missedWatchNanos;
    private long sleeps;
    // The queue thread only stores these and readers only load them, both through the VarHandles,
    // which Error Prone does not see.
    @SuppressWarnings("UnusedVariable")
    private long sleepCostNanos;

    @SuppressWarnings("UnusedVariable")
    private boolean backingOff;

    // ---- the queue thread ----------------------------------------------------------------

    /** One chain taken from the ring. */
    void served() {
        SERVED.setOpaque(this, served + 1);
    }

    /** One watch of the empty ring that lasted {@code nanos} and caught a request or not. */
    void watched(boolean caughtOne, long nanos) {
        WATCHES.setOpaque(this, watches + 1);
        if (caughtOne) {
            CAUGHT_WATCH_NANOS.setOpaque(this, caughtWatchNanos + nanos);
            CAUGHT.setRelease(this, caught + 1);
        } else {
            MISSED_WATCH_NANOS.setOpaque(this, missedWatchNanos + nanos);
        }
    }

    /** The thread enters poll(2). */
    void sleeping() {
        SLEEPS.setOpaque(this, sleeps + 1);
    }

    void sleepCost(long nanos) {
        SLEEP_COST_NANOS.setOpaque(this, nanos);
    }

    void backingOff(boolean on) {
        BACKING_OFF.setOpaque(this, on);
    }

    // ---- any thread ----------------------------------------------------------------------

    /** A snapshot, for queue {@code index} whose thread is {@code running} or not. */
    QueueFigures figures(int index, boolean running) {
        long c = (long) CAUGHT.getAcquire(this);
        return new QueueFigures(
                index,
                running,
                (long) SERVED.getOpaque(this),
                (long) WATCHES.getOpaque(this),
                c,
                (long) CAUGHT_WATCH_NANOS.getOpaque(this),
                (long) MISSED_WATCH_NANOS.getOpaque(this),
                (long) SLEEPS.getOpaque(this),
                (long) SLEEP_COST_NANOS.getOpaque(this),
                (boolean) BACKING_OFF.getOpaque(this));
    }

    /**
     * The line a queue thread logs when it stops: what it did from {@code start} (the figures when
     * it started) to {@code end}, e.g. {@code queue 1: served 40213 requests; watched 39000 times,
     * caught 1200 (3.1%), 0.420 s watching; slept 37800 times, sleep cost ~9 us}.
     */
    static String stopLine(QueueFigures start, QueueFigures end) {
        long served = end.served() - start.served();
        long watches = end.watches() - start.watches();
        long caught = end.caught() - start.caught();
        double watchSeconds = (end.watchNanos() - start.watchNanos()) / 1e9;
        return String.format(
                Locale.ROOT,
                "queue %d: served %d request%s; watched %d times, caught %d (%.1f%%), %.3f s watching;"
                        + " slept %d times, sleep cost ~%d us%s",
                end.index(),
                served,
                served == 1 ? "" : "s",
                watches,
                caught,
                watches == 0 ? 0.0 : 100.0 * caught / watches,
                watchSeconds,
                end.sleeps() - start.sleeps(),
                Math.round(end.sleepCostNanos() / 1e3),
                end.backingOff() ? ", backing off" : "");
    }
}
