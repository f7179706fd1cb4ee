package org.example.hybrid.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * {@code inode.identity=hybrid}: file handles for every inode (nothing pinned, so no fd per inode
 * and no inode number held on the host), plus an O_PATH fd kept for the hottest inodes so that
 * their requests skip {@code open_by_handle_at}. The fd cache is bounded ({@code hot.fds}, default
 * 1024) and replaced by CLOCK: an inode used twice becomes hot; one not used since the hand last
 * passed it goes cold again.
 *
 * <p>Configured like any bundle of the daemon, by PID {@value #PID} in a profile.
 */
@Component(
        service = InodeIdentityStrategy.class,
        configurationPid = HybridStrategy.PID,
        property = InodeIdentityStrategy.PROPERTY + "=" + HybridStrategy.NAME)
@Designate(ocd = HybridStrategy.Config.class)
public final class HybridStrategy implements InodeIdentityStrategy {
    public static final String NAME = "hybrid";
    public static final String PID = "org.example.virtiofsd.hybrid";

    @ObjectClassDefinition(name = "hybrid inode identity")
    public @interface Config {
        @AttributeDefinition(name = "hot.fds", description = "Most O_PATH fds kept for hot inodes")
        int hot_fds() default 1024;
    }

    private final int hotFds;

    private HybridStrategy(int hotFds, boolean unused) {
        this.hotFds = Math.max(0, hotFds);
    }

    /** For tests and the conformance kit: room for {@code hotFds} hot inodes. */
    public static HybridStrategy withHotFds(int hotFds) {
        return new HybridStrategy(hotFds, false);
    }

    @Activate
    public HybridStrategy(Config config) {
        this(config.hot_fds(), false);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public IdentityProvider open(int rootFd) throws ErrnoException {
        return HybridProvider.open(rootFd, hotFds);
    }
}
