package dev.virtiofsd.control.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Configuration of PID {@code dev.virtiofsd.control}, written by the launcher for --control-socket. */
@ObjectClassDefinition(name = "virtiofsd control socket")
public @interface ControlSocketConfig {
    @AttributeDefinition(name = "socket.path", description = "UNIX socket for virtiofsd-java-ctl (mode 0600)")
    String socket_path();
}
