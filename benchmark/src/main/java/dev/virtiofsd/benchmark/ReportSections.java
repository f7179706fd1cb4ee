package dev.virtiofsd.benchmark;

import static dev.virtiofsd.benchmark.Report.fmt;
import static dev.virtiofsd.benchmark.Report.fmtRatio;
import static dev.virtiofsd.benchmark.Report.median;
import static dev.virtiofsd.benchmark.Report.num;
import static dev.virtiofsd.benchmark.Report.q;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/** The report's sections beyond the throughput table: copy floor, start-up/memory, density, guest. */
final class ReportSections {
    private ReportSections() {}

    static final double STARTUP_TARGET_MS = 300;
    static final double RSS_IDLE_TARGET_MIB = 48;
    static final double RSS_AFTER_TARGET_MIB = 64;

    private static String met(boolean ok) {
        return ok ? "met" : "**NOT met**";
    }

    /** One markdown table row: {@code | a | b | ... |} and a line break. */
    static void row(StringBuilder b, Object... cells) {
        b.append('|');
        for (Object c : cells) {
            b.append(' ').append(c).append(" |");
        }
        b.append('\n');
    }

    /** A figure with two decimals (seconds, MiB, ratios of the density table). */
    private static String seconds(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    // ---- copy floor -------------------------------------------------------------------------

    static void copyFloor(StringBuilder b, Benchmark.Results r) {
        if (r.copyFloor.isEmpty()) {
            return;
        }
        b.append("\n#### The 1 MiB rows against this machine's copy floor\n\n");
        b.append("One thread doing only the copy a daemon must do (benchmark process, same files, into/out of a"
                        + " MAP_SHARED memfd mapping like guest memory), median MiB/s: memcpy 1 MiB ")
                .append(fmt(median(r.copyFloor.get("memcpy"))))
                .append(", pread 1 MiB from the page cache ")
                .append(fmt(median(r.copyFloor.get("pread"))))
                .append(", pwrite 1 MiB into the page cache ")
                .append(fmt(median(r.copyFloor.get("pwrite"))))
                .append(". Each daemon's 1 MiB figure as a share of the matching floor (at depth 1 the front end's"
                        + " own copy of each reply is in series with the daemon's):\n\n");
        b.append("| row | in flight |");
        for (Daemon.Config c : Daemon.CONFIGS) {
            b.append(' ').append(c.label()).append(" |");
        }
        b.append('\n')
                .append("|---|---:|")
                .append("---:|".repeat(Daemon.CONFIGS.size()))
                .append('\n');
        for (Load.Workload w : List.of(Load.Workload.READ_1M, Load.Workload.WRITE_1M)) {
            double floor = median(r.copyFloor.get(w == Load.Workload.READ_1M ? "pread" : "pwrite"));
            for (int depth : r.settings.depths) {
                String row = w.name() + "@" + depth;
                if (!r.rows.containsKey(row)) {
                    continue;
                }
                List<Object> cells = new ArrayList<>(List.of(w.title, depth));
                for (Daemon.Config c : Daemon.CONFIGS) {
                    cells.add(String.format(Locale.ROOT, "%.0f%%", 100 * Report.medianOf(r, row, c.key()) / floor));
                }
                row(b, cells.toArray());
            }
        }
    }

    // ---- start-up and memory ------------------------------------------------------------------

    static void footprint(StringBuilder b, Benchmark.Results r) {
        Footprint.Results f = r.footprint;
        if (f == null) {
            return;
        }
        b.append("\n#### Start-up and memory of ours (fd-only, default options), where they go\n\n");
        Map<String, Long> peerInodes = r.inodes.getOrDefault("peer-never", Map.of());
        b.append(String.format(
                Locale.ROOT,
                "- To a listening socket: %.0f ms (target <= %.0f ms: %s); to the first vhost-user reply: %.0f ms."
                        + " Peer `never` start-up in the table above.\n",
                f.listenMs,
                STARTUP_TARGET_MS,
                met(f.listenMs <= STARTUP_TARGET_MS),
                f.firstReplyMs));
        b.append(String.format(
                Locale.ROOT,
                "- RSS idle (INIT done, 3 s later): %.1f MiB (target <= %.0f: %s); after %,d LOOKUPs: %.1f MiB"
                        + " (target <= %.0f: %s)%s. Peer `never`: %s MiB before, %s MiB after its LOOKUPs.\n",
                f.rssIdleMiB,
                RSS_IDLE_TARGET_MIB,
                met(f.rssIdleMiB <= RSS_IDLE_TARGET_MIB),
                r.settings.files,
                f.rssAfterMiB,
                RSS_AFTER_TARGET_MIB,
                met(f.rssAfterMiB <= RSS_AFTER_TARGET_MIB),
                f.lookupsFailed > 0 ? " (" + f.lookupsFailed + " LOOKUPs failed: fd budget)" : "",
                fmt(peerInodes.getOrDefault("rss_kib_before", -1L) / 1024.0),
                fmt(peerInodes.getOrDefault("rss_kib", -1L) / 1024.0)));
        b.append("- CPU used by the time of the first reply, by thread: ");
        appendCpu(b, f.cpuAtFirstReply);
        b.append(".\n\n");
        if (!f.milestones.isEmpty()) {
            b.append("| start-up milestone (launcher trace) | ms since launch | process CPU ms by then |\n");
            b.append("|---|---:|---:|\n");
            for (Map.Entry<String, double[]> e : f.milestones.entrySet()) {
                row(
                        b,
                        e.getKey(),
                        String.format(Locale.ROOT, "%.0f", e.getValue()[0]),
                        String.format(Locale.ROOT, "%.0f", e.getValue()[1]));
            }
            b.append(String.format(
                    Locale.ROOT,
                    "| listening socket accepts | %.0f | |\n| first vhost-user reply | %.0f | |\n\n",
                    f.listenMs,
                    f.firstReplyMs));
        }
        if (!f.jvmPhases.isEmpty()) {
            b.append("JVM phases (-Xlog:startuptime, ms): ");
            List<String> parts = new ArrayList<>();
            f.jvmPhases.forEach((k, v) -> parts.add(k + " " + String.format(Locale.ROOT, "%.1f", v)));
            b.append(String.join("; ", parts)).append(".\n\n");
        }
        if (!f.classSources.isEmpty()) {
            b.append("Classes loaded up to the first request, by source (-Xlog:class+load): ");
            List<String> parts = new ArrayList<>();
            f.classSources.forEach((k, v) -> parts.add(k + " " + v));
            b.append(String.join("; ", parts)).append(".\n\n");
        }
        b.append("| RSS by mapping (/proc/PID/smaps, MiB) | idle | after LOOKUPs |\n|---|---:|---:|\n");
        for (String k : Footprint.smapsKinds(f)) {
            row(
                    b,
                    k,
                    String.format(Locale.ROOT, "%.1f", f.smapsIdleKiB.getOrDefault(k, 0L) / 1024.0),
                    String.format(Locale.ROOT, "%.1f", f.smapsAfterKiB.getOrDefault(k, 0L) / 1024.0));
        }
        if (!f.nmtCommittedKiB.isEmpty()) {
            b.append("\nJVM committed memory after the LOOKUPs by Native Memory Tracking category (a separate run"
                            + " with NMT on, which adds its own bookkeeping), MiB: ")
                    .append(String.format(Locale.ROOT, "total %.1f", f.nmtTotalCommittedKiB / 1024.0));
            f.nmtCommittedKiB.entrySet().stream()
                    .sorted((x, y) -> Long.compare(y.getValue(), x.getValue()))
                    .filter(e -> e.getValue() >= 256)
                    .forEach(e -> b.append("; ")
                            .append(e.getKey())
                            .append(' ')
                            .append(String.format(Locale.ROOT, "%.1f", e.getValue() / 1024.0)));
            b.append(".\n");
        }
    }

    private static void appendCpu(StringBuilder b, Map<String, Double> cpu) {
        List<String> parts = new ArrayList<>();
        double total = 0;
        for (Map.Entry<String, Double> e : cpu.entrySet()) {
            total += e.getValue();
            if (e.getValue() > 0) {
                parts.add(e.getKey() + " " + String.format(Locale.ROOT, "%.2f s", e.getValue()));
            }
        }
        b.append(String.format(Locale.ROOT, "%.2f s in all", total));
        if (!parts.isEmpty()) {
            b.append(" (").append(String.join(", ", parts)).append(')');
        }
    }

    // ---- density --------------------------------------------------------------------------------

    static void density(StringBuilder b, Benchmark.Results r) {
        if (r.density.isEmpty()) {
            return;
        }
        Map<String, Double> peer = r.density.getOrDefault("peer-never", Map.of());
        Map<String, Double> ours = r.density.getOrDefault("ours-fd", Map.of());
        b.append("\n#### Density: ")
                .append(r.settings.density)
                .append(" daemons serving ")
                .append(r.settings.density)
                .append(" shares at once (each INIT, LOOKUP, GETATTR done, then idle)\n\n");
        b.append("| figure | ")
                .append(r.settings.density)
                .append(" x Rust virtiofsd never | ")
                .append(r.settings.density)
                .append(" x ours fd-only | peer / ours (above 1: ours smaller) |\n|---|---:|---:|---:|\n");
        String[][] rows = {
            {"all_serving_s", "launched one after the other until all serve (s)"},
            {"start_cpu_s_total", "CPU used to start them all (s)"},
            {"rss_mib_total", "total RSS (MiB)"},
            {"pss_mib_total", "total PSS, shared pages counted once (MiB)"},
            {"guest_memory_mib_total", "of which guest memory touched (MiB, RSS)"},
            {"rss_mib_each", "RSS per daemon (MiB)"},
            {"idle_cpu_ms_per_s_total", "CPU at idle, all daemons (ms per s)"}
        };
        for (String[] row : rows) {
            double p = peer.getOrDefault(row[0], Double.NaN);
            double o = ours.getOrDefault(row[0], Double.NaN);
            row(b, row[1], seconds(p), seconds(o), fmtRatio(p / o));
        }
    }

    // ---- guest ----------------------------------------------------------------------------------

    static void guest(StringBuilder b, Benchmark.Results r) {
        GuestBenchmark.Results g = r.guest;
        if (g == null) {
            return;
        }
        GuestBenchmark.Settings s = g.settings;
        b.append("\n#### In a real guest: cold daemon (first pass after launch) and warm (pass ")
                .append(s.passes)
                .append(")\n\n");
        b.append("QEMU ")
                .append(g.qemu)
                .append(", TCG, 1 vCPU, 1 GiB; Linux 6.1 virtiofs from ")
                .append(g.kernel)
                .append("; each boot launches its daemon (default options) right before QEMU; ")
                .append(s.boots)
                .append(" boots per daemon, alternating; median seconds per phase (guest clock). Workload per pass: ")
                .append(s.files)
                .append(" creates (`echo > f$i`), `ls -l` twice, `cat` of all files, ")
                .append(s.bigMib)
                .append(" MiB `dd` write then read (bs=1M), `rm -r`; guest caches dropped before `ls`, `cat` and"
                        + " the read. Speed ratio = peer time / our time; CPU ratio = peer CPU / our CPU in that"
                        + " phase (both >= 1.0 is the target).\n\n");
        for (String ours : GuestBenchmark.DAEMONS) {
            if (!ours.startsWith("ours-")) {
                continue;
            }
            guestTable(b, g, ours);
        }
    }

    /** The phase table of one of our columns against the peer, and its start-up line. */
    private static void guestTable(StringBuilder b, GuestBenchmark.Results g, String ours) {
        if (!ours.equals("ours-fd")) {
            b.append("\nColumn `").append(ours).append("` (VIRTIOFSD_BENCH_VARIANT) against the same peer boots:\n\n");
        }
        b.append("| pass | phase | peer (s) | ours (s) | speed ratio | peer CPU (s) | ours CPU (s) | CPU ratio |"
                + " ours CPU by thread |\n");
        b.append("|---|---|---:|---:|---:|---:|---:|---:|---|\n");
        List<String> below = new ArrayList<>();
        for (boolean cold : new boolean[] {true, false}) {
            for (String phase : GuestBenchmark.PHASES) {
                String key = g.key(cold, phase);
                double p = median(g.values("peer-never", x -> x.seconds.get(key)));
                double o = median(g.values(ours, x -> x.seconds.get(key)));
                double pc = median(g.values("peer-never", x -> x.daemonCpu.get(key)));
                double oc = median(g.values(ours, x -> x.daemonCpu.get(key)));
                double speed = p / o;
                double cpu = pc / oc;
                if (!(speed >= 1.0)) {
                    below.add((cold ? "cold " : "warm ") + phase + " " + fmtRatio(speed));
                }
                row(
                        b,
                        cold ? "cold" : "warm",
                        phase,
                        seconds(p),
                        seconds(o),
                        Report.boldBelow(speed),
                        seconds(pc),
                        seconds(oc),
                        Report.boldBelow(cpu),
                        threads(g, ours, key));
            }
        }
        double pl = median(g.values("peer-never", x -> x.launchToListenMs));
        double ol = median(g.values(ours, x -> x.launchToListenMs));
        double pm = median(g.values("peer-never", x -> x.launchToMountedMs));
        double om = median(g.values(ours, x -> x.launchToMountedMs));
        b.append(String.format(
                Locale.ROOT,
                "\nDaemon launch to listening socket: peer %.0f ms, ours %.0f ms; launch to the guest's mount done"
                        + " (QEMU started once the socket listened; host clock): peer %.0f ms, ours %.0f ms (%s)."
                        + " Daemon CPU until mounted: peer %.2f s, ours %.2f s; from launch to the last phase's end:"
                        + " peer %.2f s, ours %.2f s.\n",
                pl,
                ol,
                pm,
                om,
                fmtRatio(pm / om),
                median(g.values("peer-never", x -> x.startCpu)),
                median(g.values(ours, x -> x.startCpu)),
                median(g.values("peer-never", x -> Double.isNaN(x.totalCpu) ? null : x.totalCpu)),
                median(g.values(ours, x -> Double.isNaN(x.totalCpu) ? null : x.totalCpu))));
        b.append(
                below.isEmpty()
                        ? "Guest target: every phase >= 1.0x, cold and warm: met.\n"
                        : "Guest target: " + below.size() + " phase(s) below 1.0x: " + String.join(", ", below)
                                + ".\n");
    }

    /** Ours: median CPU seconds by thread group in phase {@code key}. */
    private static String threads(GuestBenchmark.Results g, String ours, String key) {
        TreeSet<String> groups = new TreeSet<>();
        for (GuestBenchmark.Boot boot : g.boots) {
            if (boot.daemon.equals(ours) && boot.daemonCpuByThread.containsKey(key)) {
                groups.addAll(boot.daemonCpuByThread.get(key).keySet());
            }
        }
        List<String> parts = new ArrayList<>();
        for (String grp : groups) {
            double v = median(g.values(ours, x -> {
                Map<String, Double> m = x.daemonCpuByThread.get(key);
                return m == null ? null : m.getOrDefault(grp, 0.0);
            }));
            if (v >= 0.005) {
                parts.add(grp + " " + String.format(Locale.ROOT, "%.2f", v));
            }
        }
        return String.join(", ", parts);
    }

    // ---- JSON -----------------------------------------------------------------------------------

    static void json(StringBuilder b, Benchmark.Results r) {
        b.append("  \"copy_floor_mib_s\": ")
                .append(Report.object(r.copyFloor, Report::medianAndRuns))
                .append(",\n");
        Footprint.Results f = r.footprint;
        b.append("  \"footprint\": ");
        if (f == null) {
            b.append("{},\n"); // not run (--skip footprint)
        } else {
            b.append("{\"listen_ms\": ")
                    .append(num(f.listenMs))
                    .append(", \"first_reply_ms\": ")
                    .append(num(f.firstReplyMs))
                    .append(", \"rss_idle_mib\": ")
                    .append(num(f.rssIdleMiB))
                    .append(", \"rss_after_lookups_mib\": ")
                    .append(num(f.rssAfterMiB))
                    .append(", \"cpu_s_at_first_reply\": ")
                    .append(doubles(f.cpuAtFirstReply))
                    .append(", \"milestones_ms\": ")
                    .append(Report.object(
                            f.milestones, v -> "{\"wall\": " + num(v[0]) + ", \"cpu\": " + num(v[1]) + "}"))
                    .append(", \"jvm_phases_ms\": ")
                    .append(doubles(f.jvmPhases))
                    .append(", \"class_sources\": ")
                    .append(longs(f.classSources))
                    .append(", \"smaps_idle_kib\": ")
                    .append(longs(f.smapsIdleKiB))
                    .append(", \"smaps_after_kib\": ")
                    .append(longs(f.smapsAfterKiB))
                    .append(", \"nmt_committed_kib\": ")
                    .append(longs(f.nmtCommittedKiB))
                    .append(", \"nmt_total_committed_kib\": ")
                    .append(f.nmtTotalCommittedKiB)
                    .append("},\n");
        }
        b.append("  \"density\": {\"daemons\": ").append(r.settings.density);
        for (Map.Entry<String, Map<String, Double>> e : r.density.entrySet()) {
            b.append(", ").append(q(e.getKey())).append(": ").append(doubles(e.getValue()));
        }
        b.append("},\n");
        GuestBenchmark.Results g = r.guest;
        b.append("  \"guest\": ");
        if (g == null) {
            b.append("{},\n"); // not run (--skip guest)
            return;
        }
        GuestBenchmark.Settings s = g.settings;
        b.append("{\"qemu\": ")
                .append(q(g.qemu))
                .append(", \"boots_per_daemon\": ")
                .append(s.boots)
                .append(", \"files\": ")
                .append(s.files)
                .append(", \"big_mib\": ")
                .append(s.bigMib)
                .append(", \"passes\": ")
                .append(s.passes)
                .append(", \"boots\": [");
        int k = 0;
        for (GuestBenchmark.Boot boot : g.boots) {
            b.append(k++ == 0 ? "\n    " : ",\n    ")
                    .append("{\"daemon\": ")
                    .append(q(boot.daemon))
                    .append(", \"boot\": ")
                    .append(boot.index + 1)
                    .append(", \"launch_to_listen_ms\": ")
                    .append(num(boot.launchToListenMs))
                    .append(", \"launch_to_mounted_ms\": ")
                    .append(num(boot.launchToMountedMs))
                    .append(", \"start_cpu_s\": ")
                    .append(num(boot.startCpu))
                    .append(", \"total_cpu_s\": ")
                    .append(num(boot.totalCpu))
                    .append(", \"seconds\": ")
                    .append(doubles(boot.seconds))
                    .append(", \"daemon_cpu_s\": ")
                    .append(doubles(boot.daemonCpu))
                    .append(", \"qemu_cpu_s\": ")
                    .append(doubles(boot.qemuCpu))
                    .append(", \"daemon_cpu_s_by_thread\": ")
                    .append(Report.object(boot.daemonCpuByThread, ReportSections::doubles))
                    .append('}');
        }
        b.append("\n  ], \"ratios\": {");
        k = 0;
        for (boolean cold : new boolean[] {true, false}) {
            for (String phase : GuestBenchmark.PHASES) {
                String key = g.key(cold, phase);
                double p = median(g.values("peer-never", x -> x.seconds.get(key)));
                double o = median(g.values("ours-fd", x -> x.seconds.get(key)));
                double pc = median(g.values("peer-never", x -> x.daemonCpu.get(key)));
                double oc = median(g.values("ours-fd", x -> x.daemonCpu.get(key)));
                b.append(k++ == 0 ? "" : ", ")
                        .append(q((cold ? "cold " : "warm ") + phase))
                        .append(": {\"speed\": ")
                        .append(num(p / o))
                        .append(", \"cpu\": ")
                        .append(num(pc / oc))
                        .append('}');
            }
        }
        b.append("}},\n");
    }

    private static String doubles(Map<String, Double> m) {
        return Report.object(m, Report::num);
    }

    private static <T extends Number> String longs(Map<String, T> m) {
        return Report.object(m, String::valueOf);
    }
}
