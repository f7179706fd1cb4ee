package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.FileHandle;
import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.linux.Linux;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The filesystem's own O_PATH-fd identity (kind "fd"), with no strategy bundle behind it: what new
 * inodes get, and what inodes of a departing strategy bundle are converted to, while no strategy of
 * the configured name is registered (for the moments a strategy bundle is updated or stopped). Its
 * code lives in this bundle, so it never goes away under an inode.
 */
final class OwnFdIdentity implements InodeIdentity {
    static final String KIND = "fd";
    /** Name of the fallback slot in statistics. */
    static final String STRATEGY = "fallback-fd";

    static final IdentityProvider PROVIDER = new IdentityProvider() {
        @Override
        public InodeIdentity identify(int pathFd, long mountId, int mode) {
            return new OwnFdIdentity(pathFd);
        }

        @Override
        public int heldFds() {
            return 0;
        }

        @Override
        public void close() {}
    };

    private final int fd;
    private final AtomicBoolean closed = new AtomicBoolean();

    OwnFdIdentity(int fd) {
        this.fd = fd;
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
        if (closed.compareAndSet(false, true)) {
            Linux.close(fd);
        }
    }

    @Override
    public String toString() {
        return "own-fd[" + fd + "]";
    }
}
