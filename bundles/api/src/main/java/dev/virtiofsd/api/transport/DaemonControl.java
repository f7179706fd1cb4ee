package dev.virtiofsd.api.transport;

/**
 * Registered by the launcher. A transport calls it when the daemon's work is over (the
 * vhost-user front end disconnected) or cannot start, and the launcher stops the framework and
 * exits with the given status.
 */
public interface DaemonControl {
    /** Stop the daemon; {@code reason} is one line, printed at info (status 0) or error level. */
    void stop(int exitStatus, String reason);

    /** A transport reports it is serving (socket listening, filesystem mounted). */
    void ready(String what);
}
