package dev.virtiofsd.transport.vhostuser.internal;

import dev.virtiofsd.api.transport.FuseSession;
import dev.virtiofsd.api.transport.FuseWorker;

/** What one serving thread keeps: its FUSE worker for the current session. */
final class WorkerSlot {
    FuseSession session;
    FuseWorker worker;
}
