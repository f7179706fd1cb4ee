package dev.virtiofsd.benchmark;

import dev.virtiofsd.frontend.VhostUserFrontend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where our daemon's start-up time and memory go, measured, not guessed:
 *
 * <ul>
 *   <li>start-up milestones of the launcher (VIRTIOFSD_STARTUP_TRACE=1: wall clock and process
 *       CPU at each), the time to a listening socket and to the first vhost-user reply, and the
 *       CPU each kind of thread had used by then (JIT compilers, main, ...);
 *   <li>the JVM's own phases (-Xlog:startuptime) and where the loaded classes came from
 *       (-Xlog:class+load: the class-data archive, jars, generated at run time);
 *   <li>RSS idle and after LOOKUP of {@code files} names, split by mapping (/proc/PID/smaps), and
 *       the JVM's committed memory by category (Native Memory Tracking, summary at exit).
 * </ul>
 *
 * The traced run uses the default JVM options (an environment variable switches the trace on), so
 * it maps the same class-data archive as any start; the -Xlog/NMT run has options of its own and
 * is therefore started twice (the first start writes the archive for those options).
 */
final class Footprint {
    private Footprint() {}

    /** Everything measured. */
    static final class Results {
        /** "what" -> {wall ms since launch, CPU ms since launch}. */
        final Map<String, double[]> milestones = new LinkedHashMap<>();

        double listenMs;
        double firstReplyMs;
        /** thread group -> CPU-seconds when the first reply was in. */
        Map<String, Double> cpuAtFirstReply = Map.of();

        double rssIdleMiB;
        double rssAfterMiB;
        Map<String, Long> smapsIdleKiB = Map.of();
        Map<String, Long> smapsAfterKiB = Map.of();
        /** JVM phase -> ms (-Xlog:startuptime). */
        final Map<String, Double> jvmPhases = new LinkedHashMap<>();
        /** class source kind -> classes loaded up to the first reply. */
        final Map<String, Integer> classSources = new TreeMap<>();
        /** NMT category -> committed KiB, after the LOOKUPs (NMT on: a little more than without). */
        final Map<String, Long> nmtCommittedKiB = new LinkedHashMap<>();

        long nmtTotalCommittedKiB;
        int lookupsFailed;
    }

    static Results run(Setup setup, Path shared, Path logs, int files) throws Exception {
        Daemon.Config ours = Daemon.CONFIGS.stream()
                .filter(c -> c.key().equals("ours-fd"))
                .findFirst()
                .orElseThrow();
        Results r = new Results();
        // 1. Traced start with the default options; RSS idle and after the LOOKUPs.
        Path log = logs.resolve("footprint-trace.log");
        Daemon d = Daemon.launch(
                ours,
                setup,
                shared,
                logs.resolve("footprint.sock"),
                log,
                null,
                true,
                Map.of("VIRTIOFSD_STARTUP_TRACE", "1"));
        try (d) {
            VhostUserFrontend fe = d.connect(Load.frontendOptions(false), 120_000_000_000L);
            r.firstReplyMs = (System.nanoTime() - d.launchedNanos) / 1e6;
            r.listenMs = d.startupNanos / 1e6;
            r.cpuAtFirstReply = Proc.cpuByThreadGroup(d.process.pid());
            try (fe) {
                Load.check(fe.init(), "INIT");
                Thread.sleep(3000);
                r.rssIdleMiB = Proc.statusKiB(d.process.pid(), "VmRSS") / 1024.0;
                r.smapsIdleKiB = Proc.rssByMapping(d.process.pid());
                r.lookupsFailed = Load.lookupMany(fe, files, false);
                r.rssAfterMiB = Proc.statusKiB(d.process.pid(), "VmRSS") / 1024.0;
                r.smapsAfterKiB = Proc.rssByMapping(d.process.pid());
            }
        }
        Pattern trace = Pattern.compile("startup-trace (\\d+) (-?\\d+) (.*)");
        for (String line : Files.readAllLines(log)) {
            Matcher m = trace.matcher(line);
            if (m.find()) {
                double ms = (Long.parseLong(m.group(1)) - d.launchedNanos) / 1e6;
                double cpuMs = Long.parseLong(m.group(2)) * 1000.0 / Proc.CLOCK_TICKS;
                r.milestones.put(m.group(3), new double[] {ms, cpuMs});
            }
        }

        // 2. JVM phases, class sources, NMT: a second start with those options (the first writes
        //    the class-data archive of this option set).
        Path classes = logs.resolve("footprint-classes.log");
        for (int attempt = 0; attempt < 2; attempt++) {
            Files.deleteIfExists(classes);
            Path nmtLog = logs.resolve("footprint-nmt-" + attempt + ".log");
            try (Daemon n = Daemon.launch(
                    ours,
                    setup,
                    shared,
                    logs.resolve("footprint-nmt.sock"),
                    nmtLog,
                    "-Xlog:startuptime -Xlog:class+load:file=" + classes
                            + " -XX:NativeMemoryTracking=summary -XX:+UnlockDiagnosticVMOptions -XX:+PrintNMTStatistics",
                    true,
                    Map.of())) {
                try (VhostUserFrontend fe = n.connect(Load.frontendOptions(false), 120_000_000_000L)) {
                    Load.check(fe.init(), "INIT");
                    if (attempt == 0) {
                        // The launcher writes the archive in the background once serving: let it finish.
                        Thread.sleep(8000);
                    } else {
                        // The class log up to here: start-up and the first request.
                        countClassSources(classes, r.classSources);
                        Load.lookupMany(fe, files, false);
                    }
                }
                n.waitForExit(30);
            }
            if (attempt == 1) {
                parseJvmLog(Files.readAllLines(nmtLog), r);
            }
        }
        return r;
    }

    private static void countClassSources(Path classes, Map<String, Integer> out) throws IOException {
        for (String line : Files.readAllLines(classes)) {
            int i = line.indexOf(" source: ");
            if (i < 0) {
                continue;
            }
            String src = line.substring(i + 9);
            String kind;
            if (src.startsWith("shared objects file")) {
                kind = src.contains("(top)")
                        ? "class-data archive of the layout (dynamic)"
                        : "class-data archive of the JDK (static)";
            } else if (src.startsWith("jrt:/")) {
                kind = "JDK modules (not archived)";
            } else if (src.startsWith("file:") || src.startsWith("jar:")) {
                kind = "jars (not archived)";
            } else {
                kind = "generated at run time (lambdas, proxies, jnr bindings)";
            }
            out.merge(kind, 1, Integer::sum);
        }
    }

    private static final Pattern PHASE = Pattern.compile("\\[startuptime\\] (.+?), ([0-9.]+) secs");
    // JDK 17 prints NMT figures at exit in bytes, jcmd and later JDKs in KB.
    private static final Pattern NMT = Pattern.compile("^-\\s+(.+?) \\(reserved=(\\d+)(KB)?, committed=(\\d+)(KB)?\\)");
    private static final Pattern NMT_TOTAL = Pattern.compile("^Total: reserved=(\\d+)(KB)?, committed=(\\d+)(KB)?");

    private static long kib(String value, String unit) {
        long v = Long.parseLong(value);
        return unit == null ? v / 1024 : v;
    }

    private static void parseJvmLog(List<String> lines, Results r) {
        for (String line : lines) {
            Matcher p = PHASE.matcher(line);
            if (p.find()) {
                r.jvmPhases.put(p.group(1), Double.parseDouble(p.group(2)) * 1000);
                continue;
            }
            Matcher t = NMT_TOTAL.matcher(line.trim());
            if (t.find()) {
                r.nmtTotalCommittedKiB = kib(t.group(3), t.group(4));
                continue;
            }
            Matcher n = NMT.matcher(line.trim());
            if (n.find()) {
                r.nmtCommittedKiB.put(n.group(1).trim(), kib(n.group(4), n.group(5)));
            }
        }
    }

    /** The smaps groups of both snapshots, as table rows. */
    static List<String> smapsKinds(Results r) {
        List<String> kinds = new ArrayList<>(r.smapsIdleKiB.keySet());
        for (String k : r.smapsAfterKiB.keySet()) {
            if (!kinds.contains(k)) {
                kinds.add(k);
            }
        }
        return kinds;
    }
}
