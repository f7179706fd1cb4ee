package dev.virtiofsd.control.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.introspect.InodeStats;
import dev.virtiofsd.api.introspect.OpcodeStats;
import dev.virtiofsd.api.introspect.QueueFigures;
import dev.virtiofsd.api.introspect.QueueStats;
import dev.virtiofsd.api.introspect.RequestStats;
import dev.virtiofsd.linux.ProcFiles;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One snapshot of the daemon's figures, shared by the {@code stats} command (as one JSON object)
 * and the MXBeans, so both always say the same.
 */
final class Figures {
    final String strategy;
    final long inodes;
    final Map<String, Long> inodesByKind;
    final Map<String, Long> inodesByStrategy;
    final long inodeFds;
    final long openFiles;
    final long openFds;
    final boolean latencyMeasured;
    final Map<String, OpcodeStats> requests;
    /** Per virtqueue of the transport; empty without a transport that counts them (or before a front end connected). */
    final List<QueueFigures> queues;

    private Figures(InodeStats inodes, RequestStats requests, QueueStats queues) {
        this.strategy = inodes == null ? null : inodes.strategy();
        this.inodes = inodes == null ? 0 : inodes.inodes();
        this.inodesByKind = inodes == null ? Map.of() : new TreeMap<>(inodes.inodesByKind());
        this.inodesByStrategy = inodes == null ? Map.of() : new TreeMap<>(inodes.inodesByStrategy());
        this.inodeFds = inodes == null ? 0 : inodes.inodeFds();
        this.openFiles = inodes == null ? 0 : inodes.openFiles();
        this.openFds = processFds();
        this.latencyMeasured = requests != null && requests.latencyMeasured();
        this.requests = requests == null ? Map.of() : requests.byOpcode();
        this.queues = queues == null ? List.of() : queues.queues();
    }

    static Figures of(InodeStats inodes, RequestStats requests, QueueStats queues) {
        return new Figures(inodes, requests, queues);
    }

    /**
     * Fds the whole process has open (entries of /proc/self/fd), the JVM's own included; read
     * through the native bundle's /proc/self/fd directory fd, as a path is refused in the sandbox.
     * -1 when they cannot be counted.
     */
    static long processFds() {
        try {
            return ProcFiles.openFdCount();
        } catch (ErrnoException e) {
            return -1;
        }
    }

    /** The {@code stats} command's answer: one JSON object. */
    String json() {
        StringBuilder b = new StringBuilder(512);
        b.append('{');
        Json.field(b, "strategy").append(Json.string(strategy)).append(',');
        Json.field(b, "inodes").append(inodes).append(',');
        Json.field(b, "inodesByKind");
        Json.longs(b, inodesByKind).append(',');
        Json.field(b, "inodesByStrategy");
        Json.longs(b, inodesByStrategy).append(',');
        Json.field(b, "inodeFds").append(inodeFds).append(',');
        Json.field(b, "openFds").append(openFds).append(',');
        Json.field(b, "openFiles").append(openFiles).append(',');
        Json.field(b, "latencyMeasured").append(latencyMeasured).append(',');
        Json.field(b, "requests").append('{');
        boolean first = true;
        for (Map.Entry<String, OpcodeStats> e : requests.entrySet()) {
            if (!first) {
                b.append(',');
            }
            first = false;
            OpcodeStats s = e.getValue();
            Json.field(b, e.getKey()).append('{');
            Json.field(b, "count").append(s.count()).append(',');
            Json.field(b, "errors").append(s.errors()).append(',');
            Json.field(b, "p50Nanos").append(s.p50Nanos()).append(',');
            Json.field(b, "p90Nanos").append(s.p90Nanos()).append(',');
            Json.field(b, "p99Nanos").append(s.p99Nanos()).append(',');
            Json.field(b, "maxNanos").append(s.maxNanos()).append('}');
        }
        b.append("},");
        Json.field(b, "queues").append('[');
        for (int i = 0; i < queues.size(); i++) {
            QueueFigures q = queues.get(i);
            if (i > 0) {
                b.append(',');
            }
            b.append('{');
            Json.field(b, "index").append(q.index()).append(',');
            Json.field(b, "running").append(q.running()).append(',');
            Json.field(b, "served").append(q.served()).append(',');
            Json.field(b, "watches").append(q.watches()).append(',');
            Json.field(b, "caught").append(q.caught()).append(',');
            Json.field(b, "watchNanos").append(q.watchNanos()).append(',');
            Json.field(b, "caughtWatchNanos").append(q.caughtWatchNanos()).append(',');
            Json.field(b, "missedWatchNanos").append(q.missedWatchNanos()).append(',');
            Json.field(b, "sleeps").append(q.sleeps()).append(',');
            Json.field(b, "sleepCostNanos").append(q.sleepCostNanos()).append(',');
            Json.field(b, "backingOff").append(q.backingOff()).append('}');
        }
        b.append("]}");
        return b.toString();
    }
}
