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
}
