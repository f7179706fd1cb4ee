package dev.virtiofsd.strategy.handle.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.FileHandle;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.linux.Linux;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * The O_PATH fallback of "prefer": the inode is held by an fd, which pins its inode number, so it
 * is keyed by ids alone. Same behaviour as the fd strategy's identity (copied to keep the bundles
 * independent of each other).
 */
final class PathFdIdentity implements InodeIdentity {
    private static final AtomicIntegerFieldUpdater<PathFdIdentity> CLOSED =
            AtomicIntegerFieldUpdater.newUpdater(PathFdIdentity.class, "closed");
    private volatile int closed;
    static final String KIND = "fd";
    private final int fd;

    PathFdIdentity(int pathFd) {
        this.fd = pathFd;
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public FileHandle handle() {
        return null;
    }

    @Override
    public boolean pinsInode() {
        return true;
    }

    @Override
    public int heldFds() {
        return 1;
    }

    @Override
    public int acquirePath() {
        return fd;
    }

    @Override
    public void releasePath(int pathFd) {
        // the fd stays ours
    }

    @Override
    public int open(int flags) throws ErrnoException {
        return Linux.reopen(fd, flags);
    }

    @Override
    public void close() {
        // Once only: the fd number may already belong to someone else after the first close.
        if (CLOSED.compareAndSet(this, 0, 1)) {
            Linux.close(fd);
        }
    }

    @Override
    public String toString() {
        return "fd[" + fd + "]";
    }
}
