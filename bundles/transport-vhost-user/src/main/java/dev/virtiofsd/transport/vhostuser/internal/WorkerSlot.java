package dev.virtiofsd.transport.vhostuser.internal;

import dev.virtiofsd.api.transport.FuseSession;
import dev.virtiofsd.api.transport.FuseWorker;
import dev.virtiofsd.linux.NativeMemory;

/**
 * What one serving thread keeps: its FUSE worker for the current session, and native scratch, freed
 * by {@link #close()} when the thread is done (queue threads restart on every ring reconfiguration).
 */
final class WorkerSlot implements AutoCloseable {
    FuseSession session;
    FuseWorker worker;
    final long scratch = NativeMemory.allocate(64);

    @Override
    public void close() {
        NativeMemory.free(scratch);
    }
}
