package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.Statx;

/** Per-thread native scratch of the request path: no allocation per request. */
final class ThreadScratch {
    private static final ThreadLocal<ThreadScratch> PER_THREAD = ThreadLocal.withInitial(ThreadScratch::new);

    final Statx statx = new Statx();
    /** A second statx, for checking a candidate inode while {@link #statx} holds the looked-up one. */
    final Statx statx2 = new Statx();

    final long mem = NativeMemory.allocate(256);
    final IdsKey probe = new IdsKey(0, 0, 0);
    final InodeUse.Stack uses = new InodeUse.Stack();
    final CallerCredentials credentials = new CallerCredentials();

    static ThreadScratch get() {
        return PER_THREAD.get();
    }
}
