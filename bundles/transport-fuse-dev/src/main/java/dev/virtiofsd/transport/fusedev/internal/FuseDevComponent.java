package dev.virtiofsd.transport.fusedev.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.config.FuseDevConfiguration;
import dev.virtiofsd.api.transport.DaemonControl;
import dev.virtiofsd.api.transport.FuseServer;
import dev.virtiofsd.api.transport.Transport;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.Hashtable;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The /dev/fuse transport as a DS component: mounts when configured, registers a {@link Transport}
 * service while serving, and asks the launcher to stop when the mount fails or goes away.
 */
@Component(configurationPid = FuseDevComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = FuseDevComponent.Config.class)
public final class FuseDevComponent {
    public static final String PID = FuseDevConfiguration.PID;
    public static final String NAME = "fuse-dev";
    private static final Logger LOG = LoggerFactory.getLogger(FuseDevComponent.class);

    /**
     * Configuration of PID {@link FuseDevConfiguration#PID}: each method name is a key of {@link
     * FuseDevConfiguration}, each default its constant.
     */
    @ObjectClassDefinition(
            name = "virtiofsd /dev/fuse transport",
            description = "Mounts the shared directory on the host through /dev/fuse.")
    public @interface Config {
        @AttributeDefinition(name = "Mount point", description = "Directory to mount the filesystem on (--mountpoint)")
        String mountpoint();

        @AttributeDefinition(
                name = "Threads",
                description = "Number of threads reading requests from /dev/fuse (--thread-pool-size when not 0)")
        int threads() default FuseDevConfiguration.THREADS_DEFAULT;
    }

    private final FuseDevTransport transport;
    private ServiceRegistration<Transport> registration;

    @Activate
    public FuseDevComponent(
            @Reference FuseServer server, @Reference DaemonControl control, Config config, BundleContext context) {
        String mp = config.mountpoint();
        FuseDevTransport t = null;
        try {
            if (mp == null || mp.isBlank()) {
                throw new IllegalArgumentException("no mountpoint configured");
            }
            t = new FuseDevTransport(server, Path.of(mp), Math.max(1, config.threads()));
            t.onUnmounted(() -> control.stop(0, "fuse-dev: " + mp + " was unmounted"));
            t.start();
        } catch (ErrnoException | RuntimeException e) {
            LOG.debug("fuse-dev start failed", e);
            if (t != null) {
                t.close();
            }
            t = null;
            control.stop(1, "fuse-dev: cannot mount " + mp + ": " + e.getMessage());
        }
        transport = t;
        if (t != null) {
            @SuppressWarnings("JdkObsolete") // registerService takes a Dictionary; Hashtable is the one at hand
            Dictionary<String, Object> props = new Hashtable<>();
            props.put(Transport.PROPERTY, NAME);
            registration = context.registerService(Transport.class, () -> NAME, props);
            control.ready("mounted at " + t.mountpoint());
        }
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            try {
                registration.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the bundle is stopping and took the registration with it
            }
            registration = null;
        }
        if (transport != null) {
            transport.close();
        }
    }
}
