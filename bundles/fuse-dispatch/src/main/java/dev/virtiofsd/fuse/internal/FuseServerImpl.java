package dev.virtiofsd.fuse.internal;

import dev.virtiofsd.api.fs.FileSystem;
import dev.virtiofsd.api.transport.FuseServer;
import dev.virtiofsd.api.transport.FuseSession;
import dev.virtiofsd.api.transport.FuseStateTransfer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
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
public final class FuseServerImpl implements FuseServer, FuseStateTransfer {
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
        return newSession(maxWrite);
    }

    FuseSessionImpl newSession(int maxWrite) {
        FuseSessionImpl s = new FuseSessionImpl(this, fs, maxWrite);
        sessions.add(s);
        return s;
    }

    /** Live migration, source side: INIT result plus the filesystem's state (docs/migration.md). */
    @Override
    public void save(FuseSession session, OutputStream out) throws IOException {
        if (session != null && !(session instanceof FuseSessionImpl && sessions.contains(session))) {
            throw new IOException("not a session of this server");
        }
        SessionStateCodec.save((FuseSessionImpl) session, fs, out);
    }

    /** Live migration, destination side. */
    @Override
    public FuseSession load(int maxWrite, InputStream in) throws IOException {
        if (maxWrite < MIN_MAX_WRITE) {
            throw new IllegalArgumentException("maxWrite " + maxWrite + " < " + MIN_MAX_WRITE);
        }
        return SessionStateCodec.load(this, fs, maxWrite, in);
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
