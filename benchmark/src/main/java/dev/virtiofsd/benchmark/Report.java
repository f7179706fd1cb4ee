package dev.virtiofsd.benchmark;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/** The markdown table and the JSON file of the same figures. */
final class Report {
    private Report() {}

    static final List<String> OURS = Daemon.CONFIGS.stream()
            .filter(Daemon.Config::ours)
            .map(Daemon.Config::key)
            .toList();

    static double median(List<Double> v) {
        if (v == null || v.isEmpty()) {
            return Double.NaN;
        }
        List<Double> s = new ArrayList<>(v);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    static double medianOf(Benchmark.Results r, String row, String key) {
        Map<String, List<Double>> m = r.rows.get(row);
        return m == null ? Double.NaN : median(m.get(key));
    }

    static double ratio(Benchmark.Results r, String row, String oursKey) {
        return medianOf(r, row, oursKey) / medianOf(r, row, Daemon.peerOf(oursKey));
    }

    static double perCpuOf(Benchmark.Results r, String row, String key) {
        Map<String, List<Double>> m = r.perCpu.get(row);
        return m == null ? Double.NaN : median(m.get(key));
    }

    /** Ours over the peer in operations per CPU-second (above 1: we spend less CPU per request). */
    static double cpuRatio(Benchmark.Results r, String row, String oursKey) {
        return perCpuOf(r, row, oursKey) / perCpuOf(r, row, Daemon.peerOf(oursKey));
    }

    static String boldBelow(double x) {
        return x < 1.0 || !Double.isFinite(x) ? "**" + fmtRatio(x) + "**" : fmtRatio(x);
    }

    static String rowSummary(Benchmark.Results r, String row) {
        StringBuilder b = new StringBuilder();
        for (Daemon.Config c : Daemon.CONFIGS) {
            List<Double> v = r.rows.get(row).get(c.key());
            List<Double> pc = r.perCpu.get(row).get(c.key());
            b.append(c.key())
                    .append('=')
                    .append(fmt(v.get(v.size() - 1)))
                    .append('/')
                    .append(fmt(pc.get(pc.size() - 1)))
                    .append("cpu ");
        }
        return b.toString();
    }

    static String fmt(double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        if (v >= 100) {
            return String.format(Locale.ROOT, "%,.0f", v);
        }
        return String.format(Locale.ROOT, "%.1f", v);
    }

    static String fmtRatio(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.2fx", v) : "n/a";
    }

    static Map<String, String> machine(Path peer) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("nproc", Integer.toString(Runtime.getRuntime().availableProcessors()));
        String cpu = "unknown";
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("model name")) {
                    cpu = l.substring(l.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException e) {
            // leave unknown
        }
        m.put("cpu", cpu);
        m.put("kernel", command("uname", "-r"));
        m.put("os", command("sh", "-c", ". /etc/os-release && echo \"$PRETTY_NAME\""));
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        m.put("peer", command(peer.toString(), "--version"));
        m.put("load_average_at_start", command("cat", "/proc/loadavg"));
        m.put("rlimit_nofile_hard", command("sh", "-c", "ulimit -Hn"));
        return m;
    }

    private static String command(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String s = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            p.waitFor(10, TimeUnit.SECONDS);
            return s;
        } catch (IOException e) {
            return "unknown";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }

    static String markdown(Benchmark.Results r) {
        Benchmark.Settings s = r.settings;
        StringBuilder b = new StringBuilder();
        b.append("### virtiofsd-java vs Rust virtiofsd 1.13")
                .append(s.shortMode ? " (SHORT MODE: smoke run, figures not meaningful)" : "")
                .append("\n\n");
        b.append("- Date: ").append(r.date).append("\n");
        b.append("- Machine: ")
                .append(r.machine.get("nproc"))
                .append(" CPUs, ")
                .append(r.machine.get("cpu"))
                .append(", kernel ")
                .append(r.machine.get("kernel"))
                .append(", ")
                .append(r.machine.get("os"))
                .append(", ")
                .append(r.machine.get("java"))
                .append("; load average at start: ")
                .append(r.machine.get("load_average_at_start"))
                .append("; hard RLIMIT_NOFILE ")
                .append(r.machine.get("rlimit_nofile_hard"))
                .append("\n");
        String sandbox = s.sandbox ? "" : "--sandbox none --seccomp none ";
        b.append("- Peer: ")
                .append(r.machine.get("peer"))
                .append(" (`")
                .append(sandbox)
                .append("--thread-pool-size=0`")
                .append(s.sandbox ? "; default sandbox: namespaces, seccomp kill" : "")
                .append(")\n");
        b.append("- Ours: ")
                .append(r.ours)
                .append(" (`")
                .append(s.profile ? "--sandbox none --seccomp none " : sandbox)
                .append("--thread-pool-size=0`")
                .append(s.sandbox && !s.profile ? "; default sandbox: namespaces, seccomp kill" : "")
                .append(")\n");
        if (!r.confinement.isEmpty()) {
            b.append("- Serving processes (from /proc): ");
            int k = 0;
            for (Map.Entry<String, String> e : r.confinement.entrySet()) {
                b.append(k++ == 0 ? "" : "; ")
                        .append(labelOf(e.getKey()))
                        .append(": ")
                        .append(e.getValue());
            }
            b.append("\n");
        }
        b.append("- Load: in-process vhost-user front end, 1 request queue, EVENT_IDX, no guest; ")
                .append(s.runs)
                .append(" run(s) x ")
                .append(s.seconds)
                .append(" s per cell after ")
                .append(s.warmup)
                .append(" s warm-up (and ")
                .append(s.startWarmup)
                .append(
                        s.startWarmupOps > 0
                                ? " s, and at least " + s.startWarmupOps + " operations unless that takes over "
                                        + s.startWarmupCap + " s,"
                                : " s")
                .append(
                        " of every row for each daemon after it starts); each cell is the median over runs. Operations of several requests count once.\n");
        b.append(
                "- Pairing of ratios: ours fd-only / peer `never`; ours handle-preferred / peer `prefer`; ours handle-only / peer `prefer` (the peer's `mandatory` is not measured).\n\n");

        b.append("Each daemon's cell: operations (or MiB) per second · per CPU-second of the daemon (utime + stime"
                + " of its whole process from /proc/PID/stat over the window). Each ratio cell: ours / peer"
                + " per second · per CPU-second; both must be >= 1.0.\n\n");
        b.append("| workload | in flight | unit |");
        for (Daemon.Config c : Daemon.CONFIGS) {
            b.append(' ').append(c.label()).append(" |");
        }
        b.append(" fd / never | h-pref / prefer | h-only / prefer |");
        for (String o : OURS.subList(3, OURS.size())) {
            b.append(' ').append(o.substring(5)).append(" / never |");
        }
        b.append('\n');
        b.append("|---|---:|---|");
        b.append("---:|".repeat(Daemon.CONFIGS.size() + OURS.size())).append('\n');
        for (Load.Workload w : Load.Workload.values()) {
            for (int depth : s.depths) {
                String row = w.name() + "@" + depth;
                if (!r.rows.containsKey(row)) {
                    continue;
                }
                List<Object> cells = new ArrayList<>(List.of(w.title, depth, w.mibPerSecond ? "MiB/s" : "ops/s"));
                for (Daemon.Config c : Daemon.CONFIGS) {
                    cells.add(fmt(medianOf(r, row, c.key())) + " · " + fmt(perCpuOf(r, row, c.key())));
                }
                for (String o : OURS) {
                    cells.add(boldBelow(ratio(r, row, o)) + " · " + boldBelow(cpuRatio(r, row, o)));
                }
                ReportSections.row(b, cells.toArray());
            }
        }
        b.append("\nBold: below the 1.0x target.\n\n");

        b.append("| daemon | start-up to accept (ms, median) | open fds after ")
                .append(String.format(Locale.ROOT, "%,d", s.files))
                .append(
                        " LOOKUPs | LOOKUPs failed: out of fds | open fds before | VmRSS after (MiB) | of which shared guest memory (MiB) | time to look them up (ms) |\n");
        b.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Daemon.Config c : Daemon.CONFIGS) {
            Map<String, Long> in = r.inodes.getOrDefault(c.key(), Map.of());
            ReportSections.row(
                    b,
                    c.label(),
                    fmt(median(r.startupMillis.get(c.key()))),
                    inodeCell(in, "fds", 1),
                    inodeCell(in, "lookups_failed_out_of_fds", 1),
                    inodeCell(in, "fds_before", 1),
                    inodeCell(in, "rss_kib", 1024),
                    inodeCell(in, "rss_shmem_kib", 1024),
                    inodeCell(in, "lookup_ms", 1));
        }
        b.append('\n');
        b.append("Targets: ");
        List<String> below = new ArrayList<>();
        for (String row : r.rows.keySet()) {
            for (String o : OURS) {
                double x = ratio(r, row, o);
                if (!(x >= 1.0)) {
                    below.add(row + " " + o + " " + fmtRatio(x));
                }
                double y = cpuRatio(r, row, o);
                if (!(y >= 1.0)) {
                    below.add(row + " " + o + " per CPU-s " + fmtRatio(y));
                }
            }
        }
        b.append(
                below.isEmpty()
                        ? "every cell >= 1.0x per second and per CPU-second. "
                        : below.size() + " figure(s) below 1.0x (" + String.join(", ", below) + "). ");
        double fdPct = fdPercent(r);
        b.append(
                Double.isNaN(fdPct)
                        ? "Handle-preferred fds against the peer's `never` fds: not run"
                        : String.format(
                                Locale.ROOT,
                                "Handle-preferred fds = %.2f%% of the peer's `never` fds (target <= 1%%): %s",
                                fdPct,
                                fdPct <= 1.0 ? "met" : "NOT met"));
        Map<String, Long> peerNever = r.inodes.getOrDefault("peer-never", Map.of());
        if (peerNever.getOrDefault("lookups_failed_out_of_fds", 0L) > 0) {
            // The peer ran out of fds: compare with what it would need for every file too.
            Long ours = r.inodes.getOrDefault("ours-handle-preferred", Map.of()).get("fds");
            double need = s.files + peerNever.getOrDefault("fds_before", 0L);
            b.append(String.format(
                    Locale.ROOT,
                    " (the peer hit RLIMIT_NOFILE; against the %,.0f fds it needs for %,d files: %.2f%%)",
                    need,
                    s.files,
                    ours == null ? Double.NaN : 100.0 * ours / need));
        }
        b.append(".\n");
        ReportSections.copyFloor(b, r);
        ReportSections.footprint(b, r);
        ReportSections.density(b, r);
        ReportSections.guest(b, r);
        return b.toString();
    }

    static double fdPercent(Benchmark.Results r) {
        Long ours = r.inodes.getOrDefault("ours-handle-preferred", Map.of()).get("fds");
        Long peer = r.inodes.getOrDefault("peer-never", Map.of()).get("fds");
        return ours == null || peer == null || peer == 0 ? Double.NaN : 100.0 * ours / peer;
    }

    private static String labelOf(String key) {
        for (Daemon.Config c : Daemon.CONFIGS) {
            if (c.key().equals(key)) {
                return c.label();
            }
        }
        return key;
    }

    static String json(Benchmark.Results r) {
        Benchmark.Settings s = r.settings;
        StringBuilder b = new StringBuilder("{\n");
        b.append("  \"date\": ").append(q(r.date)).append(",\n");
        b.append("  \"machine\": ").append(object(r.machine, Report::q)).append(",\n");
        b.append("  \"settings\": {\"short\": ")
                .append(s.shortMode)
                .append(", \"runs\": ")
                .append(s.runs)
                .append(", \"seconds\": ")
                .append(s.seconds)
                .append(", \"warmup\": ")
                .append(s.warmup)
                .append(", \"start_warmup\": ")
                .append(s.startWarmup)
                .append(", \"start_warmup_ops\": ")
                .append(s.startWarmupOps)
                .append(", \"files\": ")
                .append(s.files)
                .append(", \"sandbox\": ")
                .append(s.sandbox)
                .append("},\n");
        b.append("  \"ours\": ").append(q(r.ours)).append(",\n");
        b.append(
                "  \"pairing\": {\"ours-fd\": \"peer-never\", \"ours-handle-preferred\": \"peer-prefer\", \"ours-handle-only\": \"peer-prefer\"},\n");
        b.append("  \"rows\": [\n");
        int n = 0;
        for (Load.Workload w : Load.Workload.values()) {
            for (int depth : s.depths) {
                String row = w.name() + "@" + depth;
                if (!r.rows.containsKey(row)) {
                    continue;
                }
                b.append(n++ == 0 ? "" : ",\n");
                b.append("    {\"workload\": ")
                        .append(q(w.name()))
                        .append(", \"title\": ")
                        .append(q(w.title))
                        .append(", \"in_flight\": ")
                        .append(depth)
                        .append(", \"unit\": ")
                        .append(q(w.mibPerSecond ? "MiB/s" : "ops/s"))
                        .append(", \"daemons\": {");
                int k = 0;
                for (Daemon.Config c : Daemon.CONFIGS) {
                    List<Double> v = r.rows.get(row).get(c.key());
                    List<Double> pc = r.perCpu.getOrDefault(row, Map.of()).get(c.key());
                    List<Double> load = r.cpuLoad.getOrDefault(row, Map.of()).get(c.key());
                    b.append(k++ == 0 ? "" : ", ")
                            .append(q(c.key()))
                            .append(": {\"median\": ")
                            .append(num(median(v)))
                            .append(", \"runs\": ")
                            .append(list(v))
                            .append(", \"per_cpu_second\": ")
                            .append(medianAndRuns(pc))
                            .append(", \"cpu_seconds_per_second\": ")
                            .append(medianAndRuns(load))
                            .append('}');
                }
                b.append("}, \"ratios\": {");
                k = 0;
                for (String o : OURS) {
                    b.append(k++ == 0 ? "" : ", ").append(q(o)).append(": ").append(num(ratio(r, row, o)));
                }
                b.append("}, \"cpu_ratios\": {");
                k = 0;
                for (String o : OURS) {
                    b.append(k++ == 0 ? "" : ", ").append(q(o)).append(": ").append(num(cpuRatio(r, row, o)));
                }
                b.append("}}");
            }
        }
        b.append("\n  ],\n");
        b.append("  \"startup_ms\": ")
                .append(object(r.startupMillis, Report::medianAndRuns))
                .append(",\n");
        b.append("  \"inodes\": {\"files\": ").append(s.files);
        for (Map.Entry<String, Map<String, Long>> e : r.inodes.entrySet()) {
            b.append(", ").append(q(e.getKey())).append(": ").append(object(e.getValue(), String::valueOf));
        }
        b.append("},\n");
        ReportSections.json(b, r);
        b.append("  \"handle_preferred_fd_percent_of_peer_never\": ")
                .append(num(fdPercent(r)))
                .append('\n');
        b.append("}\n");
        return b.toString();
    }

    /** A JSON object of {@code m}'s entries in its order, each value written by {@code value}. */
    static <V> String object(Map<String, V> m, Function<V, String> value) {
        StringBuilder b = new StringBuilder("{");
        int k = 0;
        for (Map.Entry<String, V> e : m.entrySet()) {
            b.append(k++ == 0 ? "" : ", ").append(q(e.getKey())).append(": ").append(value.apply(e.getValue()));
        }
        return b.append('}').toString();
    }

    /** {@code {"median": M, "runs": [...]}} of one figure's runs. */
    static String medianAndRuns(List<Double> v) {
        return "{\"median\": " + num(median(v)) + ", \"runs\": " + list(v) + "}";
    }

    static String list(List<Double> v) {
        if (v == null) {
            return "[]";
        }
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < v.size(); i++) {
            b.append(i == 0 ? "" : ", ").append(num(v.get(i)));
        }
        return b.append(']').toString();
    }

    static String num(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "null" : String.format(Locale.ROOT, "%.3f", v);
    }

    static String q(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    /** A figure of the inode table ({@code key} divided by {@code unit}), or "not run" when that part was skipped. */
    static Object inodeCell(Map<String, Long> in, String key, int unit) {
        Long v = in.get(key);
        if (v == null) {
            return "not run";
        }
        return unit == 1 ? v : fmt(v / (double) unit);
    }
}
