package dev.virtiofsd.strategy.fd.internal;

import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.strategy.fd.PathFdIdentity;
import org.osgi.service.component.annotations.Component;

/**
 * One O_PATH fd per inode, kept for as long as the client holds the inode ("never" use file
 * handles). The fd pins the host inode, so its inode number cannot be reused while it is known.
 */
@Component(service = InodeIdentityStrategy.class, property = InodeIdentityStrategy.PROPERTY + "=fd")
public final class FdStrategy implements InodeIdentityStrategy {
    public static final String NAME = PathFdIdentity.KIND;

    public FdStrategy() {}

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
            return new PathFdIdentity(pathFd);
        }

        @Override
        public int heldFds() {
            return 0;
        }

        @Override
        public void close() {}
    }
}
