package dev.virtiofsd.api.control;

import dev.virtiofsd.api.config.PassthroughConfiguration;
import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The running filesystem's inode-identity strategies, for operators (the control socket, JMX).
 *
 * <p>The strategy new inodes get is chosen by configuration (PID {@value #PID}, key {@value
 * #STRATEGY_KEY}); changing it takes effect while the share stays mounted: new inodes get the new
 * strategy, existing inodes keep the identity (and the strategy instance) that made them until the
 * client forgets them or they are converted.
 */
@ProviderType
public interface StrategyControl {
    /** Configuration PID of the passthrough filesystem. */
    String PID = PassthroughConfiguration.PID;

    /** Configuration key naming the strategy new inodes get ({@code inode.identity} service property). */
    String STRATEGY_KEY = PassthroughConfiguration.STRATEGY;

    /** Name of the strategy new inodes get now. */
    String strategy();

    /** Names of the strategies registered now (inode.identity service properties), sorted. */
    List<String> available();

    /**
     * New inodes get strategy {@code name} from now on. Does not change the configuration: callers that
     * want the choice to stay (across a configuration update) also set {@value #STRATEGY_KEY} in
     * {@value #PID}, as the control socket does.
     *
     * @throws IllegalArgumentException no strategy of that name is registered
     * @throws IllegalStateException the strategy cannot work on this share (one line says why)
     */
    void select(String name);

    /**
     * Gives up to {@code max} inodes that hold an fd the identity the current strategy makes, so that
     * a handle strategy sheds their fds. The node ids the client knows, and its POSIX locks, do not
     * change; a request or an open file still using an inode's old identity keeps it until done. Returns how many inodes changed identity; 0 when the current strategy gives
     * no fd-less identities.
     */
    long convertFdInodes(long max);
}
