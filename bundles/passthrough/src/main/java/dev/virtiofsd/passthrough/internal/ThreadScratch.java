package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.linux.Statx;
import dev.virtiofsd.linux.Timespec;

/** Per-thread native scratch of the request path: no allocation per request. */
final class ThreadScratch {
    private static final ThreadLocal<ThreadScratch> PER_THREAD = ThreadLocal.withInitial(ThreadScratch::new);

    final Statx statx = new Statx();
    /** A second statx, for checking a candidate inode while {@link #statx} holds the looked-up one. */
    final Statx statx2 = new Statx();

    /** SETATTR's atime and mtime for utimensat. */
    final Timespec times = new Timespec(2);

    final IdsKey probe = new IdsKey(0, 0, 0);
    final InodeUse.Stack uses = new InodeUse.Stack();
    final CallerCredentials credentials = new CallerCredentials();
    final OwnedFd ownedFd = new OwnedFd();

    static ThreadScratch get() {
        return PER_THREAD.get();
    }
}
