package dev.virtiofsd.launcher;

import java.util.concurrent.TimeUnit;

/**
 * What the daemon's main thread waits for: a transport saying it serves ({@code ready}), or a
 * request to stop (DaemonControl.stop, a signal). Calls come from transport threads and signal
 * handlers and never block, except {@code ready} while the main thread closes the sandbox
 * ({@link #holdReadyUntilReleased()}).
 */
public final class DaemonEvents {
    private String ready;
    private boolean stopRequested;
    private int stopStatus;
    private String stopReason;
    private boolean holdReady;
    private boolean released;

    /**
     * From now on {@link #ready} returns only once {@link #release()} was called (or throws
     * IllegalStateException if the daemon stops first): the transport takes no request before the
     * sandbox is closed.
     */
    public synchronized void holdReadyUntilReleased() {
        holdReady = true;
    }

    /** Lets the transports that reported ready go on serving. */
    public synchronized void release() {
        released = true;
        notifyAll();
    }

    public synchronized void ready(String what) {
        if (ready == null) {
            ready = what == null ? "" : what;
        }
        notifyAll();
        while (holdReady && !released && !stopRequested) {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while the daemon closes its sandbox");
            }
        }
        if (holdReady && !released) {
            throw new IllegalStateException("the daemon is stopping: " + stopReason);
        }
    }

    /** The first stop request wins: a transport that reports errors while being stopped does not change the status. */
    public synchronized void stop(int status, String reason) {
        if (!stopRequested) {
            stopRequested = true;
            stopStatus = status;
            stopReason = reason;
        }
        notifyAll();
    }

    public synchronized String readyWhat() {
        return ready;
    }

    public synchronized boolean stopRequested() {
        return stopRequested;
    }

    public synchronized int stopStatus() {
        return stopStatus;
    }

    public synchronized String stopReason() {
        return stopReason;
    }

    /** Waits until ready or stop; false on timeout. */
    public synchronized boolean awaitReadyOrStop(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (ready == null && !stopRequested) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    public synchronized void awaitStop() throws InterruptedException {
        while (!stopRequested) {
            wait();
        }
    }
}
