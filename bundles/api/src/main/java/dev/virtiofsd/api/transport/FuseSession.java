package dev.virtiofsd.api.transport;

/** One FUSE connection: INIT state, negotiated minor version and flags. */
public interface FuseSession extends AutoCloseable {
    /** A request handler for one thread; workers are not thread-safe, sessions are. */
    FuseWorker newWorker();

    /** Whether INIT has completed. */
    boolean initialized();

    /** The client went away without DESTROY: release what it held (the inodes it looked up). */
    @Override
    void close();
}
