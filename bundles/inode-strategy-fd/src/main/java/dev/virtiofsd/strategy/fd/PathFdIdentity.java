package dev.virtiofsd.strategy.fd;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.FileHandle;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.linux.Linux;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * An inode held by the O_PATH fd it was looked up with: the fd pins the host inode, so its inode
 * number cannot be reused while the identity lives, and it is keyed by ids alone. The identity of
 * the fd strategy, and the fallback of strategies that prefer file handles.
 */
public final class PathFdIdentity implements InodeIdentity {
    private static final AtomicIntegerFieldUpdater<PathFdIdentity> CLOSED =
            AtomicIntegerFieldUpdater.newUpdater(PathFdIdentity.class, "closed");

    @SuppressWarnings("UnusedVariable") // read and written through CLOSED, which Error Prone does not see
    private volatile int closed;

    public static final String KIND = "fd";
    private final int fd;

    public PathFdIdentity(int pathFd) {
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
