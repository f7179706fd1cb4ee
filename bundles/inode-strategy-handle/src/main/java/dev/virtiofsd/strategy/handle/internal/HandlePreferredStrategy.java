package dev.virtiofsd.strategy.handle.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import org.osgi.service.component.annotations.Component;

/**
 * "prefer": identify inodes by file handle, and fall back to an O_PATH fd where no handle can be had
 * (filesystem without export ops, no handle for the inode, no mount fd) or where the process lacks
 * CAP_DAC_READ_SEARCH (then the whole share runs fd-only, with one warning).
 */
@Component(
        service = InodeIdentityStrategy.class,
        property = InodeIdentityStrategy.PROPERTY + "=" + HandlePreferredStrategy.NAME)
public final class HandlePreferredStrategy implements InodeIdentityStrategy {
    public static final String NAME = "handle-preferred";

    public HandlePreferredStrategy() {}

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public IdentityProvider open(int rootFd) throws ErrnoException {
        return HandleIdentityProvider.open(rootFd, false);
    }

    @Override
    public String toString() {
        return NAME;
    }
}
