package dev.virtiofsd.transport.vhostuser.internal;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The threads that serve requests off the queue threads: a fixed pool ({@code --thread-pool-size})
 * fed by the queues, and threads of their own for requests that may sleep (a waiting lock), which
 * must never hold up the ring they came from.
 */
final class WorkerPool {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerPool.class);

    private final int size;
    private final Thread[] threads;
    private final ArrayBlockingQueue<Virtqueue.Request> work;
    private volatile boolean closing;

    /**
     * Most requests that may sleep served at once, each on a thread of its own; beyond it such a
     * request is answered ENOLCK at once, so a guest cannot make the daemon start threads without
     * bound.
     */
    static final int MAX_LOCK_WAITERS = Integer.getInteger("virtiofsd.vhostuser.max-lock-waiters", 256);

    private ThreadPoolExecutor blockingExecutor;
    private static final ThreadLocal<WorkerSlot> BLOCKING_SLOT = new ThreadLocal<>();

    /** @param size pool threads; 0 serves requests on the queue threads (blocking ones still get their own) */
    WorkerPool(int size, int maxQueues) {
        this.size = size;
        this.threads = new Thread[size];
        this.work = size > 0 ? new ArrayBlockingQueue<>(maxQueues * 1024) : null;
        for (int i = 0; i < size; i++) {
            threads[i] = new Thread(this::loop, "vhost-user-worker-" + i);
            threads[i].setDaemon(true);
            threads[i].start();
        }
    }

    int size() {
        return size;
    }

    /** Hands a request to the pool; blocks (back pressure) when the pool is far behind. */
    void submit(Virtqueue.Request r) throws InterruptedException {
        work.put(r);
    }

    /** Runs a request that may sleep on a thread of its own; false when all {@link #MAX_LOCK_WAITERS} are busy. */
    synchronized boolean runBlocking(Virtqueue.Request r) {
        if (blockingExecutor == null) {
            blockingExecutor = new ThreadPoolExecutor(
                    0, MAX_LOCK_WAITERS, 30, TimeUnit.SECONDS, new SynchronousQueue<>(), WorkerPool::blockingThread);
        }
        try {
            blockingExecutor.execute(() -> r.queue.runBlocking(r, BLOCKING_SLOT.get()));
            return true;
        } catch (RejectedExecutionException e) {
            return false;
        }
    }

    /** A blocking thread has its slot (its worker) for its lifetime. */
    private static Thread blockingThread(Runnable task) {
        Thread t = new Thread(
                () -> {
                    try {
                        BLOCKING_SLOT.set(new WorkerSlot());
                        task.run();
                    } finally {
                        BLOCKING_SLOT.remove();
                    }
                },
                "vhost-user-blocking");
        t.setDaemon(true);
        return t;
    }

    private void loop() {
        WorkerSlot slot = new WorkerSlot();
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

    /** Lets the threads finish (the queues are stopped, so no request is left). */
    void shutdown() {
        closing = true;
        for (Thread t : threads) {
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
    }
}
