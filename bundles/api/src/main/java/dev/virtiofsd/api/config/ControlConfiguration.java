package dev.virtiofsd.api.config;

/** Configuration PID {@value #PID}: the control socket (bundle {@code dev.virtiofsd.control}). */
public final class ControlConfiguration {
    public static final String PID = "dev.virtiofsd.control";

    /** UNIX socket for virtiofsd-java-ctl; required, no default. */
    public static final String SOCKET_PATH = "socket.path";

    private ControlConfiguration() {}
}
