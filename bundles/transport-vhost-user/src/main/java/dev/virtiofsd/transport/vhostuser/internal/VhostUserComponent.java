package dev.virtiofsd.transport.vhostuser.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.config.VhostUserConfiguration;
import dev.virtiofsd.api.introspect.QueueFigures;
import dev.virtiofsd.api.introspect.QueueStats;
import dev.virtiofsd.api.transport.DaemonControl;
import dev.virtiofsd.api.transport.FuseServer;
import dev.virtiofsd.api.transport.Transport;
import java.util.List;
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
 * The vhost-user transport as a DS component, configured by the launcher; also the {@link
 * QueueStats} of its queue threads (for the control bundle's {@code stats}).
 */
// immediate: nobody consumes the Transport service, yet the socket must listen as soon as configured.
@Component(
        configurationPid = VhostUserComponent.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = {Transport.class, QueueStats.class},
        immediate = true,
        property = Transport.PROPERTY + "=vhost-user")
@Designate(ocd = VhostUserComponent.Config.class)
public final class VhostUserComponent implements Transport, QueueStats {
    public static final String PID = VhostUserConfiguration.PID;
    private static final Logger LOG = LoggerFactory.getLogger(VhostUserComponent.class);

    /**
     * Configuration of PID {@link VhostUserConfiguration#PID}: each method name is a key of {@link
     * VhostUserConfiguration} ({@code _} stands for {@code .}), each default its constant.
     */
    @ObjectClassDefinition(
            name = "virtiofsd vhost-user transport",
            description = "Serves a vhost-user-fs device on a UNIX socket for QEMU.")
    public @interface Config {
        @AttributeDefinition(
                name = "Socket path",
                description = "UNIX socket to listen on (--socket-path); empty when an fd is given")
        String socket_path() default VhostUserConfiguration.SOCKET_PATH_DEFAULT;

        @AttributeDefinition(name = "Listening fd", description = "An inherited listening socket (--fd), -1 for none")
        int fd() default VhostUserConfiguration.FD_DEFAULT;

        @AttributeDefinition(
                name = "Socket group",
                description = "Group owning the socket file (--socket-group), empty for the daemon's")
        String socket_group() default VhostUserConfiguration.SOCKET_GROUP_DEFAULT;

        @AttributeDefinition(
                name = "Thread pool size",
                description = "Request worker threads (--thread-pool-size); 0 serves on the queue threads")
        int thread_pool_size() default VhostUserConfiguration.THREAD_POOL_SIZE_DEFAULT;

        @AttributeDefinition(
                name = "Queues",
                description = "Virtqueues offered: 1 hiprio queue plus the request queues")
        int queues() default VhostUserOptions.DEFAULT_MAX_QUEUES;

        @AttributeDefinition(
                name = "Tag",
                description = "Tag advertised in the device's config space (--tag, VHOST_USER_PROTOCOL_F_CONFIG);"
                        + " empty for none")
        String tag() default VhostUserConfiguration.TAG_DEFAULT;

        @AttributeDefinition(
                name = "Confined",
                description = "The daemon confines itself (namespace or chroot sandbox) when the transport"
                        + " reports ready: leave the socket file at exit, it is out of reach then")
        boolean confined() default VhostUserConfiguration.CONFINED_DEFAULT;
    }

    private final VhostUserTransport transport;

    @Activate
    public VhostUserComponent(
            @Reference(name = "server") FuseServer server,
            @Reference(name = "control") DaemonControl control,
            Config config) {
        VhostUserTransport t = null;
        try {
            t = new VhostUserTransport(
                    server,
                    new VhostUserOptions(
                            config.socket_path(),
                            config.fd(),
                            config.socket_group(),
                            config.thread_pool_size(),
                            config.queues(),
                            config.tag()),
                    control,
                    config.confined());
            t.start();
        } catch (IllegalStateException stopping) {
            // DaemonControl.ready: the daemon stopped while closing its sandbox; it reports why.
            LOG.debug("vhost-user transport not started: {}", stopping.getMessage());
            if (t != null) {
                t.close();
            }
            t = null;
        } catch (ErrnoException | IllegalArgumentException e) {
            LOG.error("vhost-user transport cannot start: {}", e.getMessage());
            if (t != null) {
                t.close();
            }
            t = null;
            control.stop(1, "vhost-user transport cannot start: " + e.getMessage());
        }
        transport = t;
    }

    @Override
    public String name() {
        return "vhost-user";
    }

    @Override
    public List<QueueFigures> queues() {
        return transport == null ? List.of() : transport.queues();
    }

    @Deactivate
    void deactivate() {
        if (transport != null) {
            transport.close();
        }
    }
}
