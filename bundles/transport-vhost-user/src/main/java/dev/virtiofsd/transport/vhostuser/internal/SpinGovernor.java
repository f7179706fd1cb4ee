package dev.virtiofsd.transport.vhostuser.internal;

/**
 * Decides whether a queue thread that found its ring empty watches the ring a little before it
 * sleeps, so that polling pays for itself in CPU: a request caught while watching saves the CPU a
 * sleep and wake-up costs (measured on this thread: the thread CPU time of {@code poll} plus the
 * kick read, sampled every {@link #SAMPLE_EVERY}th sleep), a watch costs the time it lasts.
 *
 * <ul>
 *   <li>A watch never lasts longer than a sleep costs (nor the configured limit), so a caught
 *       request never costs more CPU than sleeping would have.
 *   <li>A credit keeps the account: a catch adds the sleep cost minus the watch, a miss subtracts
 *       the watch. When the credit falls below {@link #DEBT_SLEEPS} sleeps' worth, watching stops
 *       for a back-off number of idle periods (doubling up to {@link #MAX_BACKOFF} while it keeps
 *       not paying), then one period probes again. So CPU spent watching stays within what it
 *       saved plus a bounded debt, and a slow driver (a guest whose next request comes long after
 *       the reply, as at one request in flight) makes the thread sleep at once, like a daemon
 *       without polling; a driver that keeps the ring busy (many requests in flight) is caught.
 * </ul>
 *
 * Queue thread only; no synchronization. Times in nanoseconds. What it sees and decides (each
 * watch's outcome and time, the sleep cost, whether it backs off) it also writes to the queue's
 * {@link QueueCounters}, which other threads read.
 */
final class SpinGovernor {
    /** One sleep in this many is timed (two thread-CPU clock reads). */
    static final int SAMPLE_EVERY = 16;
    /** Debt (in sleep costs) at which watching stops. */
    static final int DEBT_SLEEPS = 8;
    /** Longest back-off, in idle periods. */
    static final int MAX_BACKOFF = 4096;

    private final long limit;
    private final QueueCounters counters;
    /** Estimated CPU of one sleep + wake-up (moving average of samples). */
    private long sleepCost;

    private long credit;
    private int backoff = 1;
    private int skip;
    private int sleeps;

    /**
     * @param limitNanos longest watch ever (0: never watch)
     * @param initialSleepCost the sleep cost assumed until the first sample
     */
    SpinGovernor(long limitNanos, long initialSleepCost) {
        this(limitNanos, initialSleepCost, new QueueCounters()); // counts nowhere anyone reads
    }

    /** As above, counting into {@code counters} (the queue's, kept across its threads). */
    SpinGovernor(long limitNanos, long initialSleepCost, QueueCounters counters) {
        this.limit = limitNanos;
        this.sleepCost = initialSleepCost;
        this.counters = counters;
        counters.sleepCost(initialSleepCost);
        counters.backingOff(false);
    }

    /** How long to watch the ring now; 0: sleep at once. */
    long budget() {
        if (limit <= 0) {
            return 0;
        }
        if (skip > 0) {
            if (--skip == 0) {
                counters.backingOff(false); // the next idle period probes
            }
            return 0;
        }
        return Math.min(limit, sleepCost);
    }

    /** Outcome of a watch of {@code nanos} that {@link #budget} allowed. */
    void watched(boolean caught, long nanos) {
        counters.watched(caught, nanos);
        if (caught) {
            credit += sleepCost - nanos;
            long cap = DEBT_SLEEPS * sleepCost;
            if (credit > cap) {
                credit = cap;
            }
            if (credit > 0) {
                backoff = 1;
            }
        } else {
            credit -= nanos;
            if (credit <= -DEBT_SLEEPS * sleepCost) {
                skip = backoff;
                counters.backingOff(true);
                backoff = Math.min(MAX_BACKOFF, backoff * 2);
                // The probe after the back-off gets one sleep's worth: one more miss backs off again.
                credit = -(DEBT_SLEEPS - 1) * sleepCost;
            }
        }
    }

    /** True if the coming sleep should be timed. */
    boolean sampleNextSleep() {
        return limit > 0 && ++sleeps % SAMPLE_EVERY == 0;
    }

    /** A timed sleep cost {@code cpuNanos} of thread CPU (ignored if the clock failed). */
    void slept(long cpuNanos) {
        if (cpuNanos > 0) {
            sleepCost += (Math.min(cpuNanos, limit) - sleepCost) >> 2;
            counters.sleepCost(sleepCost);
        }
    }

    long sleepCost() {
        return sleepCost;
    }

    long credit() {
        return credit;
    }
}
