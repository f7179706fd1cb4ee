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
 * Queue thread only; no synchronization. Times in nanoseconds.
 */
final class SpinGovernor {
    /** One sleep in this many is timed (two thread-CPU clock reads). */
    static final int SAMPLE_EVERY = 16;
    /** Debt (in sleep costs) at which watching stops. */
    static final int DEBT_SLEEPS = 8;
    /** Longest back-off, in idle periods. */
    static final int MAX_BACKOFF = 4096;

    private final long limit;
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
        this.limit = limitNanos;
        this.sleepCost = initialSleepCost;
    }

    /** How long to watch the ring now; 0: sleep at once. */
    long budget() {
        if (limit <= 0) {
            return 0;
        }
        if (skip > 0) {
            skip--;
            return 0;
        }
        return Math.min(limit, sleepCost);
    }

    /** Outcome of a watch of {@code nanos} that {@link #budget} allowed. */
    void watched(boolean caught, long nanos) {
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
        }
    }

    long sleepCost() {
        return sleepCost;
    }

    long credit() {
        return credit;
    }
}
