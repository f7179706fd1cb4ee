package dev.virtiofsd.control.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Configuration of PID {@link dev.virtiofsd.api.config.ControlConfiguration#PID}, written by the
 * launcher for --control-socket: each method name is a key of {@link
 * dev.virtiofsd.api.config.ControlConfiguration} ({@code _} stands for {@code .}).
 */
@ObjectClassDefinition(
        name = "virtiofsd control socket",
        description = "A UNIX socket for virtiofsd-java-ctl: strategy, stats, bundles, profile, convert.")
public @interface ControlSocketConfig {
    @AttributeDefinition(
            name = "Socket path",
            description = "UNIX socket for virtiofsd-java-ctl (mode 0600; --control-socket)")
    String socket_path();
}
