package dev.virtiofsd.fuse.internal;

import dev.virtiofsd.api.fs.FileSystem;
import dev.virtiofsd.api.transport.FuseServer;
import dev.virtiofsd.api.transport.FuseSession;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The FUSE protocol engine as a service: one {@link FuseSessionImpl} per client connection, one
 * {@link FuseWorkerImpl} per serving thread, all calling the one {@link FileSystem}.
 */
@Component(service = FuseServer.class, name = "dev.virtiofsd.fuse")
public final class FuseServerImpl implements FuseServer {
    /** Smallest max_write we accept from a transport: one page. */
    static final int MIN_MAX_WRITE = 4096;

    private final FileSystem fs;
    private final Set<FuseSessionImpl> sessions = ConcurrentHashMap.newKeySet();
    /** Counts of workers of closed sessions, folded in so that live lists stay short. */
    private final long[] retiredCounts = new long[FuseProtocol.OPCODE_SLOTS];

    @Activate
    public FuseServerImpl(@Reference(name = "fileSystem") FileSystem fs) {
        if (fs == null) {
            throw new NullPointerException("fs");
        }
        this.fs = fs;
    }

    @Override
    public FuseSession openSession(int maxWrite) {
        if (maxWrite < MIN_MAX_WRITE) {
            throw new IllegalArgumentException("maxWrite " + maxWrite + " < " + MIN_MAX_WRITE);
        }
        FuseSessionImpl s = new FuseSessionImpl(this, fs, maxWrite);
        sessions.add(s);
        return s;
    }

    /**
     * Requests seen so far, indexed by opcode (slot 0 holds opcodes without a slot of their own),
     * summed over every session and worker, open or closed. Values are a snapshot, not atomic as a
     * whole.
     */
    public long[] requestCounts() {
        long[] sum;
        synchronized (retiredCounts) {
            sum = retiredCounts.clone();
        }
        for (FuseSessionImpl s : sessions) {
            for (AtomicLongArray c : s.workerCounts()) {
                add(sum, c);
            }
        }
        return sum;
    }

    /** The FUSE name of an opcode ("LOOKUP"), for presenting {@link #requestCounts()}. */
    public static String opcodeName(int opcode) {
        return FuseProtocol.name(opcode);
    }

    void sessionClosed(FuseSessionImpl s) {
        if (sessions.remove(s)) {
            synchronized (retiredCounts) {
                for (AtomicLongArray c : s.workerCounts()) {
                    add(retiredCounts, c);
                }
            }
        }
    }

    private static void add(long[] sum, AtomicLongArray c) {
        for (int i = 0; i < sum.length; i++) {
            sum[i] += c.get(i);
        }
    }
}
