package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.config.PassthroughConfiguration;
import dev.virtiofsd.api.control.StrategyControl;
import dev.virtiofsd.api.fs.FileSystem;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.api.introspect.InodeStats;
import java.util.Map;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The passthrough filesystem as a Declarative Services component, configured by the launcher: reads
 * {@link PassthroughConfig} (PID {@value #PID}) into {@link PassthroughOptions} and the strategy
 * name, and hands the strategy services DS binds (dynamically) to the filesystem. Nothing of the
 * FUSE operations is here; the filesystem knows nothing of DS or of configuration keys.
 */
@Component(
        configurationPid = PassthroughComponent.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = {FileSystem.class, InodeStats.class, StrategyControl.class})
@Designate(ocd = PassthroughConfig.class)
public final class PassthroughComponent extends PassthroughFileSystem {
    public static final String PID = PassthroughConfiguration.PID;
    /** Named after the filesystem: what an operator greps for did not move. */
    private static final Logger LOG = LoggerFactory.getLogger(PassthroughFileSystem.class);

    /** For Declarative Services: strategies arrive through {@link #addStrategy}, then {@link #activate}. */
    public PassthroughComponent() {}

    /**
     * The strategy named by key {@code strategy} must be registered (else activation fails with one
     * line naming the ones that are).
     */
    @Activate
    void activate(PassthroughConfig config, Map<String, Object> properties) throws ErrnoException {
        migrationOptions(MigrationOptions.from(config));
        String name = LiveStrategies.configuredName(config, properties);
        if (!hasStrategy(name)) {
            throw new IllegalStateException("no inode-identity strategy named " + name + " (available: "
                    + String.join(", ", available()) + ")");
        }
        start(PassthroughOptions.fromConfig(config), name);
    }

    /**
     * A changed configuration while the share is served: a new {@code strategy} takes effect for new
     * inodes at once; the --migration-* options too. The share itself (directory, cache, read-only,
     * xattr, submounts) stays as started.
     */
    @Modified
    void modified(PassthroughConfig config, Map<String, Object> properties) {
        migrationOptions(MigrationOptions.from(config));
        PassthroughOptions o =
                PassthroughOptions.fromConfig(config).inodeFdBudget(options().inodeFdBudget());
        if (!o.toString().equals(options().toString())) {
            LOG.warn("configuration {} changed the share ({}); that takes effect at the next start", PID, o);
        }
        String name = LiveStrategies.configuredName(config, properties);
        if (!name.equals(wantedStrategy())) {
            try {
                select(name);
            } catch (RuntimeException e) {
                LOG.error("strategy {}: {}; new inodes keep getting {}", name, e.getMessage(), strategy());
            }
        }
    }

    /**
     * Every registered strategy, dynamically: a strategy bundle may come, go or be updated while the
     * share is mounted.
     */
    @Reference(
            name = "strategies",
            service = InodeIdentityStrategy.class,
            cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY,
            unbind = "removeStrategy")
    void addStrategy(InodeIdentityStrategy strategy, Map<String, Object> properties) {
        bindStrategy(strategy, properties);
    }

    /** A strategy service goes away: see {@link LiveStrategies#unbind}. */
    void removeStrategy(InodeIdentityStrategy strategy, Map<String, Object> properties) {
        unbindStrategy(strategy, properties);
    }

    @Deactivate
    void deactivate() {
        close();
    }
}
