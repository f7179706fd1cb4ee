package dev.virtiofsd.fuse.internal;

import dev.virtiofsd.api.fs.FileSystem;
import dev.virtiofsd.api.introspect.OpcodeStats;
import dev.virtiofsd.api.introspect.RequestStats;
import dev.virtiofsd.api.transport.FuseServer;
import dev.virtiofsd.api.transport.FuseSession;
import dev.virtiofsd.api.transport.FuseStateTransfer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

/**
 * The FUSE protocol engine as a service: one {@link FuseSessionImpl} per client connection, one
 * {@link FuseWorkerImpl} per serving thread, all calling the one {@link FileSystem}.
 */
@Component(
        service = {FuseServer.class, RequestStats.class},
        name = "dev.virtiofsd.fuse")
public final class FuseServerImpl implements FuseServer, FuseStateTransfer, RequestStats {
    /** Smallest max_write we accept from a transport: one page. */
    static final int MIN_MAX_WRITE = 4096;

    private final FileSystem fs;
    private final Set<FuseSessionImpl> sessions = ConcurrentHashMap.newKeySet();
    /** Figures of workers of closed sessions, folded in so that live lists stay short; guarded by itself. */
    private final long[][] retired = newSums();
    /** Set by the first session (and at deactivation); read by {@link #idle}. */
    private volatile boolean sessionOpened;

    private volatile WarmUp warmUp;

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

    /**
     * Warms the request path up while the transport waits for its first client (see {@link WarmUp}),
     * if {@value WarmUp#ROUNDS_PROPERTY} asks for rounds.
     */
    @Override
    public void idle() {
        int rounds = WarmUp.configuredRounds();
        if (rounds <= 0 || sessionOpened || warmUp != null) {
            return;
        }
        WarmUp w = new WarmUp(this, fs, rounds);
        warmUp = w;
        if (sessionOpened) {
            return; // a client came meanwhile: not started
        }
        Thread t = new Thread(w, "fuse-warm-up");
        t.setDaemon(true);
        t.start();
    }

    /** Stops a warm-up still running (the framework stops). */
    @Deactivate
    void deactivate() {
        sessionOpened = true;
        WarmUp w = warmUp;
        if (w != null) {
            w.stop();
        }
    }

    FuseSessionImpl newSession(int maxWrite) {
        // a client's first request: a warm-up stops after the request in hand (never waited for)
        sessionOpened = true;
        WarmUp w = warmUp;
        if (w != null) {
            w.stop();
        }
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

    private static long[][] newSums() {
        return new long[][] {
            new long[WorkerStats.SLOTS], new long[WorkerStats.SLOTS], new long[WorkerStats.SLOTS * WorkerStats.BUCKETS]
        };
    }

    /** {counts, errors, latency histograms} summed over every session and worker, open or closed. */
    private long[][] sums() {
        long[][] sum = newSums();
        synchronized (retired) {
            for (int i = 0; i < sum.length; i++) {
                System.arraycopy(retired[i], 0, sum[i], 0, sum[i].length);
            }
        }
        for (FuseSessionImpl s : sessions) {
            for (WorkerStats w : s.workerStats()) {
                w.addTo(sum[0], sum[1], sum[2]);
            }
        }
        return sum;
    }

    /**
     * Requests seen so far, indexed by opcode (slot 0 holds opcodes without a slot of their own),
     * summed over every session and worker, open or closed. Values are a snapshot, not atomic as a
     * whole.
     */
    public long[] requestCounts() {
        return sums()[0];
    }

    @Override
    public Map<String, OpcodeStats> byOpcode() {
        long[][] sum = sums();
        Map<String, OpcodeStats> out = new LinkedHashMap<>();
        for (int s = 0; s < WorkerStats.SLOTS; s++) {
            if (sum[0][s] == 0) {
                continue;
            }
            out.put(
                    s == 0 ? "OTHER" : FuseProtocol.name(s),
                    new OpcodeStats(
                            sum[0][s],
                            sum[1][s],
                            WorkerStats.percentile(sum[2], s, 0.50),
                            WorkerStats.percentile(sum[2], s, 0.90),
                            WorkerStats.percentile(sum[2], s, 0.99),
                            WorkerStats.max(sum[2], s)));
        }
        return out;
    }

    @Override
    public boolean latencyMeasured() {
        return WorkerStats.LATENCY;
    }

    /** The FUSE name of an opcode ("LOOKUP"), for presenting {@link #requestCounts()}. */
    public static String opcodeName(int opcode) {
        return FuseProtocol.name(opcode);
    }

    void sessionClosed(FuseSessionImpl s) {
        if (sessions.remove(s)) {
            synchronized (retired) {
                for (WorkerStats w : s.workerStats()) {
                    w.addTo(retired[0], retired[1], retired[2]);
                }
            }
        }
    }
}
