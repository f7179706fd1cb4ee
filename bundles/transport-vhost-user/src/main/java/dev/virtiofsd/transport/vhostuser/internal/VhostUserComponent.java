package dev.virtiofsd.transport.vhostuser.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.transport.DaemonControl;
import dev.virtiofsd.api.transport.FuseServer;
import dev.virtiofsd.api.transport.Transport;
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

/** The vhost-user transport as a DS component, configured by the launcher. */
// immediate: nobody consumes the Transport service, yet the socket must listen as soon as configured.
@Component(
        configurationPid = VhostUserComponent.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = Transport.class,
        immediate = true,
        property = Transport.PROPERTY + "=vhost-user")
@Designate(ocd = VhostUserComponent.Config.class)
public final class VhostUserComponent implements Transport {
    public static final String PID = "dev.virtiofsd.transport.vhostuser";
    private static final Logger LOG = LoggerFactory.getLogger(VhostUserComponent.class);

    @ObjectClassDefinition(name = "virtiofsd vhost-user transport")
    public @interface Config {
        @AttributeDefinition(name = "socket.path", description = "UNIX socket to listen on")
        String socket_path() default "";

        @AttributeDefinition(name = "fd", description = "inherited listening socket fd, -1 for none")
        int fd() default -1;

        @AttributeDefinition(name = "socket.group", description = "group of the socket file")
        String socket_group() default "";

        @AttributeDefinition(
                name = "thread.pool.size",
                description = "request worker threads, 0 = serve on the queue threads")
        int thread_pool_size() default 0;

        @AttributeDefinition(name = "queues", description = "virtqueues offered (1 hiprio + request queues)")
        int queues() default VhostUserOptions.DEFAULT_MAX_QUEUES;

        /** --tag: advertised in the device's config space (VHOST_USER_PROTOCOL_F_CONFIG). */
        String tag() default "";

        @AttributeDefinition(
                name = "confined",
                description = "the daemon confines itself (namespace or chroot sandbox) when the transport"
                        + " reports ready: leave the socket file at exit, it is out of reach then")
        boolean confined() default false;
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

    @Deactivate
    void deactivate() {
        if (transport != null) {
            transport.close();
        }
    }
}
