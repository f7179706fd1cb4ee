package dev.virtiofsd.api.introspect;

/**
 * The figures of one virtqueue since its device was created (they survive a restart of its
 * thread). A queue thread that finds the ring empty may watch it for a while before it sleeps in
 * poll(2): {@link #watches} of them, {@link #caught} found a request in time. Times in nanoseconds.
 *
 * @since 1.2
 */
public final class QueueFigures {
    private final int index;
    private final boolean running;
    private final long served;
    private final long watches;
    private final long caught;
    private final long caughtWatchNanos;
    private final long missedWatchNanos;
    private final long sleeps;
    private final long sleepCostNanos;
    private final boolean backingOff;

    public QueueFigures(
            int index,
            boolean running,
            long served,
            long watches,
            long caught,
            long caughtWatchNanos,
            long missedWatchNanos,
            long sleeps,
            long sleepCostNanos,
            boolean backingOff) {
        this.index = index;
        this.running = running;
        this.served = served;
        this.watches = watches;
        this.caught = caught;
        this.caughtWatchNanos = caughtWatchNanos;
        this.missedWatchNanos = missedWatchNanos;
        this.sleeps = sleeps;
        this.sleepCostNanos = sleepCostNanos;
        this.backingOff = backingOff;
    }

    /** The virtqueue's index: 0 is the hiprio queue, 1 and up carry requests. */
    public int index() {
        return index;
    }

    /** Whether the queue has a thread serving it now. */
    public boolean running() {
        return running;
    }

    /** Descriptor chains taken from the ring (requests, FORGETs on the hiprio queue included). */
    public long served() {
        return served;
    }

    /** Times the thread watched the empty ring before it would sleep. */
    public long watches() {
        return watches;
    }

    /** Watches that saw a request arrive (each saved a sleep and wake-up); never more than {@link #watches}. */
    public long caught() {
        return caught;
    }

    /** Time spent in watches that caught a request. */
    public long caughtWatchNanos() {
        return caughtWatchNanos;
    }

    /** Time spent in watches that ended without a request. */
    public long missedWatchNanos() {
        return missedWatchNanos;
    }

    /** All the time spent watching. */
    public long watchNanos() {
        return caughtWatchNanos + missedWatchNanos;
    }

    /** Times the thread entered poll(2) to wait for a kick. */
    public long sleeps() {
        return sleeps;
    }

    /**
     * The thread's current estimate of the CPU one sleep and wake-up costs (it times some of its
     * sleeps); a watch never lasts longer than this.
     */
    public long sleepCostNanos() {
        return sleepCostNanos;
    }

    /** Whether the thread has stopped watching for a while, because recent watches did not pay. */
    public boolean backingOff() {
        return backingOff;
    }

    @Override
    public String toString() {
        return "QueueFigures[index=" + index + ", running=" + running + ", served=" + served + ", watches=" + watches
                + ", caught=" + caught + ", caughtWatchNanos=" + caughtWatchNanos + ", missedWatchNanos="
                + missedWatchNanos + ", sleeps=" + sleeps + ", sleepCostNanos=" + sleepCostNanos + ", backingOff="
                + backingOff + "]";
    }
}
