package dev.virtiofsd.transport.vhostuser.internal;

import dev.virtiofsd.api.transport.FuseSession;
import dev.virtiofsd.api.transport.FuseWorker;
import dev.virtiofsd.linux.NativeMemory;

/** What one serving thread keeps: its FUSE worker for the current session, and native scratch. */
final class WorkerSlot {
    FuseSession session;
    FuseWorker worker;
    final long scratch = NativeMemory.allocate(64);
}
