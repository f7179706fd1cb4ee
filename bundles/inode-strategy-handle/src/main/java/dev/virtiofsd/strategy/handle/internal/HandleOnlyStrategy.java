package dev.virtiofsd.strategy.handle.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import org.osgi.service.component.annotations.Component;

/**
 * "mandatory": every inode is identified by file handle; no fd is kept per inode. Where no handle
 * can be had the request fails with that errno (logged once per mount), and without
 * CAP_DAC_READ_SEARCH {@link #open(int)} refuses to start.
 */
@Component(
        service = InodeIdentityStrategy.class,
        property = InodeIdentityStrategy.PROPERTY + "=" + HandleOnlyStrategy.NAME)
public final class HandleOnlyStrategy implements InodeIdentityStrategy {
    public static final String NAME = "handle-only";

    public HandleOnlyStrategy() {}

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public IdentityProvider open(int rootFd) throws ErrnoException {
        return HandleIdentityProvider.open(rootFd, true);
    }

    @Override
    public String toString() {
        return NAME;
    }
}
