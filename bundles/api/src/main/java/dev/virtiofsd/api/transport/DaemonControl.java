package dev.virtiofsd.api.transport;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Registered by the launcher. A transport calls it when the daemon's work is over (the
 * vhost-user front end disconnected) or cannot start, and the launcher stops the framework and
 * exits with the given status.
 */
@ProviderType
public interface DaemonControl {
    /** Stop the daemon; {@code reason} is one line, printed at info (status 0) or error level. */
    void stop(int exitStatus, String reason);

    /**
     * A transport reports it is ready to serve (socket listening, filesystem mounted), before it
     * takes its first request from outside (a vhost-user front end, the kernel). The daemon may
     * close its sandbox during this call (root becomes the shared directory, seccomp filter): the
     * transport must have opened everything outside the shared directory it needs before, and must
     * not process requests before the call returns. If the daemon is stopping meanwhile the call
     * throws {@link IllegalStateException}: the transport gives up quietly, the daemon reports why.
     */
    void ready(String what);
}
