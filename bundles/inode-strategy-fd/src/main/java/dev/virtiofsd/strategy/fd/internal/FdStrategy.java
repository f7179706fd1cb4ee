package dev.virtiofsd.strategy.fd.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.FileHandle;
import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.linux.Linux;
import org.osgi.service.component.annotations.Component;

/**
 * One O_PATH fd per inode, kept for as long as the client holds the inode ("never" use file
 * handles). The fd pins the host inode, so its inode number cannot be reused while it is known.
 */
@Component(service = InodeIdentityStrategy.class, property = InodeIdentityStrategy.PROPERTY + "=fd")
public final class FdStrategy implements InodeIdentityStrategy {
    public static final String NAME = "fd";

    public FdStrategy() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public IdentityProvider open(int rootFd) {
        return Provider.INSTANCE;
    }

    /** Stateless: an fd identity needs nothing per share. */
    static final class Provider implements IdentityProvider {
        static final Provider INSTANCE = new Provider();

        @Override
        public InodeIdentity identify(int pathFd, long mountId, int mode) {
            return new FdIdentity(pathFd);
        }

        @Override
        public int heldFds() {
            return 0;
        }

        @Override
        public void close() {
        }
    }

    /** Holds the O_PATH fd it was given; hands it out for {@code *at} calls without closing it. */
    static final class FdIdentity implements InodeIdentity {
        private final int fd;
        private volatile boolean closed;

        FdIdentity(int fd) {
            this.fd = fd;
        }

        @Override
        public String kind() {
            return NAME;
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
            // The fd stays with the identity until close().
        }

        @Override
        public int open(int flags) throws ErrnoException {
            return Linux.reopen(fd, flags);
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                Linux.close(fd);
            }
        }

        @Override
        public String toString() {
            return "fd:" + fd;
        }
    }
}
