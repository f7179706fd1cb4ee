package dev.virtiofsd.api.transport;

import org.osgi.annotation.versioning.ProviderType;

/** One FUSE connection: INIT state, negotiated minor version and flags. */
@ProviderType
public interface FuseSession extends AutoCloseable {
    /** A request handler for one thread; workers are not thread-safe, sessions are. */
    FuseWorker newWorker();

    /**
     * Whether INIT has completed. An INIT on an initialized session (the guest rebooted without
     * DESTROY) restarts it: what the old client held is released, then INIT is negotiated afresh.
     */
    boolean initialized();

    /** The client went away without DESTROY: release what it held (the inodes it looked up). */
    @Override
    void close();
}
