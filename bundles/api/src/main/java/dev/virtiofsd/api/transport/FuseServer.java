package dev.virtiofsd.api.transport;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The FUSE protocol engine, as a service transports consume. A transport opens one session per
 * connected client (a vhost-user front end, a /dev/fuse mount) and one worker per thread that
 * serves requests.
 */
@ProviderType
public interface FuseServer {
    /**
     * Opens the protocol state of one connected client.
     *
     * @param maxWrite largest WRITE payload the transport can carry in one request; also bounds
     *                 READ replies and the max_write sent at INIT
     */
    FuseSession openSession(int maxWrite);

    /**
     * The transport is ready (its sandbox closed) and waits for its first client, which may take
     * seconds (a guest boots before it mounts). The server may use that time on a background
     * thread, e.g. to compile its request path, but must stop as soon as it opens a session, and
     * must neither change nor show anything a client can see. Called at most once per transport;
     * returns at once.
     */
    default void idle() {}
}
