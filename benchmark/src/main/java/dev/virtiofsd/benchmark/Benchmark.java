package dev.virtiofsd.benchmark;

import dev.virtiofsd.frontend.VhostUserFrontend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Rust virtiofsd 1.13 and virtiofsd-java side by side, on the same shared directory, in one run,
 * under the same load (the in-process vhost-user front end, no guest). See the README's "Performance" section.
 *
 * <pre>
 * Benchmark [--short] [--runs N] [--seconds S] [--warmup S] [--start-warmup S] [--start-warmup-ops N] [--files N]
 *           [--out DIR] [--profile]
 *           [--no-sandbox]
 * </pre>
 *
 * Both daemons run with their default sandbox and seccomp filter (namespace, kill); --no-sandbox
 * runs both with {@code --sandbox none --seccomp none}, to see what the sandbox costs.
 */
public final class Benchmark {

    /** What to run. */
    public static final class Settings {
        public boolean shortMode;
        public int runs = 5;
        public double seconds = 1.0;
        public double warmup = 0.25;
        /**
         * Seconds of every workload at every depth sent to each daemon right after it starts,
         * before anything is measured: a JVM compiles its request path in the first seconds, and
         * a daemon lives in steady state. Every daemon gets the same, the peer included.
         */
        public double startWarmup = 0.3;

        /**
         * ... and at least this many operations of every row at every depth, as far as {@link
         * #startWarmupCap} allows: a time alone leaves the slow rows (1 MiB, CREATE: 2,000-6,000
         * operations per second) below the JIT's compile thresholds (HotSpot C2: about 5,000
         * invocations of a method), and their first compilation then lands in a measured window
         * (0.07-0.24 CPU-s of C2 in a 1 s window, in bench-logs/cpu-by-thread.txt). 0: time only.
         */
        public long startWarmupOps = 10_000;

        /** Longest start warm-up of one row at one depth, in seconds. */
        public double startWarmupCap = 3.0;

        public int files = 100_000;
        public int[] depths = {1, 64};
        public Path out;
        /** Record a JFR profile of each of our daemons (written next to the report). */
        public boolean profile;
        /**
         * Both daemons in their default sandbox with seccomp (true), or both with --sandbox none
         * --seccomp none. --profile runs ours without (JFR writes its file at exit, jcmd attaches).
         */
        public boolean sandbox = true;
        /** Diagnosis: only these workloads (names of Load.Workload), null = all. */
        public java.util.Set<String> only;
        /** Parts not to run: rows, inodes, floor, footprint, density, guest. */
        public java.util.Set<String> skip = java.util.Set.of();
        /** Daemons of each kind serving at once for the density figures. */
        public int density = 32;
        /** Seconds over which the density figures' idle CPU is measured. */
        public double densityIdle = 10;

        public GuestBenchmark.Settings guest = new GuestBenchmark.Settings();

        boolean runs(String part) {
            return !skip.contains(part);
        }

        /** Files the shared directory needs in many/: only the inode and footprint parts look them up. */
        int manyFiles() {
            return runs("inodes") || runs("footprint") ? files : 0;
        }

        public static Settings shortSettings() {
            Settings s = new Settings();
            s.shortMode = true;
            s.runs = 1;
            s.seconds = 0.05;
            s.warmup = 0.01;
            s.startWarmup = 0;
            s.startWarmupOps = 0;
            s.files = 1000;
            s.density = 3;
            s.densityIdle = 1;
            s.guest = GuestBenchmark.Settings.shortSettings();
            return s;
        }
    }

    /** Everything measured. */
    public static final class Results {
        public final Settings settings;
        public String date;
        public Map<String, String> machine = new LinkedHashMap<>();
        public String ours;
        /** row key ("LOOKUP@1") -> config key -> per-run figures (ops/s or MiB/s). */
        public final Map<String, Map<String, List<Double>>> rows = new LinkedHashMap<>();
        /**
         * row key -> config key -> per-run operations (or MiB) per CPU-second of the daemon: the
         * window's operations over the utime + stime its whole process tree used in that window.
         */
        public final Map<String, Map<String, List<Double>>> perCpu = new LinkedHashMap<>();
        /** row key -> config key -> per-run CPU-seconds the daemon used per second of the window. */
        public final Map<String, Map<String, List<Double>>> cpuLoad = new LinkedHashMap<>();

        public final Map<String, List<Double>> startupMillis = new LinkedHashMap<>();
        /** config key -> "Seccomp N, CapEff X, mnt namespace own|host" of its serving process. */
        public final Map<String, String> confinement = new LinkedHashMap<>();

        public final Map<String, Map<String, Long>> inodes = new LinkedHashMap<>();
        /** The copy floor of the 1 MiB rows: "memcpy"/"pread"/"pwrite" -> per-run MiB/s. */
        public Map<String, List<Double>> copyFloor = Map.of();
        /** Start-up and memory breakdown of ours; null if not run. */
        Footprint.Results footprint;
        /** daemon key -> density figures; empty if not run. */
        public Map<String, Map<String, Double>> density = Map.of();
        /** The guest benchmark; null if not run. */
        GuestBenchmark.Results guest;

        Results(Settings settings) {
            this.settings = settings;
        }
    }

    private Benchmark() {}

    public static void main(String[] args) throws Exception {
        Settings s = new Settings();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--short" -> {
                    Settings d = Settings.shortSettings();
                    s.shortMode = true;
                    s.runs = d.runs;
                    s.seconds = d.seconds;
                    s.warmup = d.warmup;
                    s.startWarmup = d.startWarmup;
                    s.startWarmupOps = d.startWarmupOps;
                    s.files = d.files;
                    s.density = d.density;
                    s.densityIdle = d.densityIdle;
                    s.guest = d.guest;
                }
                case "--skip" -> s.skip = java.util.Set.of(args[++i].split(",", -1));
                case "--density" -> s.density = Integer.parseInt(args[++i]);
                case "--guest-boots" -> s.guest.boots = Integer.parseInt(args[++i]);
                case "--guest-files" -> s.guest.files = Integer.parseInt(args[++i]);
                case "--guest-mib" -> s.guest.bigMib = Integer.parseInt(args[++i]);
                case "--guest-passes" -> s.guest.passes = Integer.parseInt(args[++i]);
                case "--runs" -> s.runs = Integer.parseInt(args[++i]);
                case "--seconds" -> s.seconds = Double.parseDouble(args[++i]);
                case "--warmup" -> s.warmup = Double.parseDouble(args[++i]);
                case "--start-warmup" -> s.startWarmup = Double.parseDouble(args[++i]);
                case "--start-warmup-ops" -> s.startWarmupOps = Long.parseLong(args[++i]);
                case "--files" -> s.files = Integer.parseInt(args[++i]);
                case "--out" -> s.out = Path.of(args[++i]);
                case "--profile" -> s.profile = true;
                case "--no-sandbox" -> s.sandbox = false;
                case "--only" -> s.only = java.util.Set.of(args[++i].split(","));
                default -> {
                    System.err.println(
                            "usage: Benchmark [--short] [--runs N] [--seconds S] [--warmup S] [--start-warmup S] [--start-warmup-ops N] [--files N] [--out DIR] [--profile] [--only WORKLOAD,...] [--no-sandbox]"
                                    + " [--skip rows,inodes,floor,footprint,density,guest] [--density N] [--guest-boots N] [--guest-files N] [--guest-mib N] [--guest-passes N]");
                    System.exit(2);
                }
            }
        }
        Results r = run(s);
        System.out.println(Report.markdown(r));
        System.out.println("written: " + Setup.detect(s.out).out.resolve("benchmark.md") + " and benchmark.json");
        System.exit(0);
    }

    /** Runs everything and writes benchmark.md and benchmark.json into the output folder. */
    public static Results run(Settings s) throws Exception {
        Setup setup = Setup.detect(s.out);
        setup.requireDaemons();
        Files.createDirectories(setup.out);
        Path logs = Files.createDirectories(setup.out.resolve("bench-logs"));
        Path shared = setup.out.resolve("bench-shared");
        prepareSharedDir(shared, s.manyFiles());
        Results r = new Results(s);
        r.date = java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC)
                .withNano(0)
                .toString();
        r.machine = Report.machine(setup.peer);
        r.ours = setup.oursDescription() + variantDescription();

        for (Daemon.Config c : Daemon.CONFIGS) {
            r.startupMillis.put(c.key(), new ArrayList<>());
        }
        if (s.runs("floor")) {
            log("copy floor of the 1 MiB rows");
            r.copyFloor = CopyFloor.measure(shared, s.shortMode ? 1 : 5, s.shortMode ? 0.05 : 0.5);
        }
        if (s.runs("rows")) {
            for (int run = 0; run < s.runs; run++) {
                log("run " + (run + 1) + "/" + s.runs);
                measureRun(s, setup, shared, logs, r, run);
            }
        }
        // Each part on disk as soon as it is measured, so that a failure below does not lose it.
        write(setup, r);
        if (s.runs("inodes")) {
            log("open fds and RSS after looking up " + s.files + " files");
            for (Daemon.Config c : Daemon.CONFIGS) {
                r.inodes.put(c.key(), inodeFigures(c, setup, shared, logs, s.files, s.sandbox));
            }
            write(setup, r);
        }
        if (s.runs("footprint")) {
            log("start-up and memory breakdown of ours");
            r.footprint = Footprint.run(setup, shared, logs, s.files);
            write(setup, r);
        }
        if (s.runs("density")) {
            r.density = Density.run(setup, setup.out, logs, s.density, s.densityIdle);
            write(setup, r);
        }
        if (s.runs("guest")) {
            r.guest = GuestBenchmark.run(setup, setup.out, s.guest);
            write(setup, r);
        }
        return r;
    }

    /**
     * One row's start warm-up: windows of {@code nanos} until {@code minOps} operations are done or
     * {@code capNanos} have passed (at least one window). Returns the operations done.
     */
    static long warmUp(Load load, Load.Workload w, int depth, long nanos, long minOps, long capNanos)
            throws dev.virtiofsd.api.ErrnoException {
        long t0 = System.nanoTime();
        long ops = 0;
        do {
            ops += load.run(w, depth, nanos).ops();
        } while (ops < minOps && System.nanoTime() - t0 < capNanos);
        return ops;
    }

    /** What the VIRTIOFSD_BENCH_VARIANT column runs, for the report ("" without one). */
    static String variantDescription() {
        StringBuilder b = new StringBuilder();
        for (Daemon.Config c : Daemon.CONFIGS) {
            if (c.key().startsWith("ours-fd-")) {
                b.append("; column \"").append(c.label()).append("\": ");
                b.append(c.dist().isEmpty() ? "this build" : "the build in " + c.dist());
                b.append(c.javaHome().isEmpty() ? "" : ", JAVA_HOME=" + c.javaHome());
                b.append(c.javaOpts().isEmpty() ? "" : ", JVM options `" + c.javaOpts() + "`");
            }
        }
        return b.toString();
    }

    private static void write(Setup setup, Results r) throws IOException {
        Files.writeString(setup.out.resolve("benchmark.md"), Report.markdown(r), StandardCharsets.UTF_8);
        Files.writeString(setup.out.resolve("benchmark.json"), Report.json(r), StandardCharsets.UTF_8);
    }

    /** Starts all five daemons (one after the other, for clean start-up times), then runs every row. */
    private static void measureRun(Settings s, Setup setup, Path shared, Path logs, Results r, int run)
            throws Exception {
        List<Daemon> daemons = new ArrayList<>();
        List<VhostUserFrontend> fronts = new ArrayList<>();
        List<Load> loads = new ArrayList<>();
        try {
            // Rotate the order per run so no daemon is always measured first after a change of row.
            int n = Daemon.CONFIGS.size();
            for (int k = 0; k < n; k++) {
                Daemon.Config c = Daemon.CONFIGS.get((k + run) % n);
                String jfr = null;
                if (s.profile && c.ours()) {
                    jfr = "-XX:StartFlightRecording=filename="
                            + setup.out.resolve("profile-" + c.key() + "-run" + (run + 1) + ".jfr")
                            + ",settings=profile,dumponexit=true";
                }
                Daemon d = Daemon.launch(
                        c,
                        setup,
                        shared,
                        logs.resolve("run" + (run + 1) + "-" + c.key() + ".sock"),
                        logs.resolve("run" + (run + 1) + "-" + c.key() + ".log"),
                        jfr,
                        s.sandbox && jfr == null);
                daemons.add(d);
                VhostUserFrontend fe = d.connect(Load.frontendOptions(true), 120_000_000_000L);
                fronts.add(fe);
                r.startupMillis.get(c.key()).add(d.startupNanos / 1e6);
                r.confinement.put(c.key(), d.confinement());
                Load load = new Load(fe);
                load.setUp();
                loads.add(load);
            }
            long warm = (long) (s.warmup * 1e9);
            long window = (long) (s.seconds * 1e9);
            long startWarm = (long) (s.startWarmup * 1e9);
            if (startWarm > 0) {
                for (Load load : loads) {
                    for (Load.Workload w : Load.Workload.values()) {
                        for (int depth : s.depths) {
                            warmUp(load, w, depth, startWarm, s.startWarmupOps, (long) (s.startWarmupCap * 1e9));
                        }
                    }
                }
            }
            for (Load.Workload w : Load.Workload.values()) {
                if (s.only != null && !s.only.contains(w.name())) {
                    continue;
                }
                for (int depth : s.depths) {
                    String row = w.name() + "@" + depth;
                    for (int k = 0; k < daemons.size(); k++) {
                        Daemon d = daemons.get(k);
                        Load load = loads.get(k);
                        if (warm > 0) {
                            load.run(w, depth, warm);
                        }
                        Load.Window win;
                        Map<String, Double> groups0 = Proc.cpuByThreadGroup(d.pid());
                        double cpu0 = d.cpuSeconds();
                        double cpu1;
                        try {
                            win = load.measure(w, depth, window);
                            cpu1 = d.cpuSeconds();
                            // Where each window's CPU went, by kind of thread (JIT, GC, request threads).
                            Files.writeString(
                                    logs.resolve("cpu-by-thread.txt"),
                                    String.format(
                                            Locale.ROOT,
                                            "run %d %-24s %-22s %7.0f ops/s %s%n",
                                            run + 1,
                                            row,
                                            d.config.key(),
                                            win.perSecond(),
                                            Proc.minus(Proc.cpuByThreadGroup(d.pid()), groups0)),
                                    StandardCharsets.UTF_8,
                                    java.nio.file.StandardOpenOption.CREATE,
                                    java.nio.file.StandardOpenOption.APPEND);
                            load.forgetCreated();
                        } catch (RuntimeException e) {
                            if (d.config.ours()) {
                                dumpThreads(d, logs.resolve("run" + (run + 1) + "-" + d.config.key() + ".threads.txt"));
                            }
                            throw new IllegalStateException(d.config.label() + ", " + row + ": " + e.getMessage(), e);
                        }
                        double v = win.perSecond(); // 1 MiB per op: ops/s = MiB/s
                        r.rows.computeIfAbsent(row, x -> new LinkedHashMap<>())
                                .computeIfAbsent(d.config.key(), x -> new ArrayList<>())
                                .add(v);
                        // At least one clock tick: a window shorter than a tick (short mode) still has a figure.
                        double cpu = Math.max(cpu1 - cpu0, 1.0 / Proc.CLOCK_TICKS);
                        r.perCpu
                                .computeIfAbsent(row, x -> new LinkedHashMap<>())
                                .computeIfAbsent(d.config.key(), x -> new ArrayList<>())
                                .add(win.ops() / cpu);
                        r.cpuLoad
                                .computeIfAbsent(row, x -> new LinkedHashMap<>())
                                .computeIfAbsent(d.config.key(), x -> new ArrayList<>())
                                .add((cpu1 - cpu0) / (win.nanos() / 1e9));
                    }
                    log(String.format("  %-24s %s", row, Report.rowSummary(r, row)));
                }
            }
        } finally {
            for (VhostUserFrontend fe : fronts) {
                fe.close();
            }
            for (Daemon d : daemons) {
                d.close();
            }
        }
    }

    /** A fresh daemon looks up {@code files} distinct names (no FORGET); its fds and RSS then. */
    private static Map<String, Long> inodeFigures(
            Daemon.Config c, Setup setup, Path shared, Path logs, int files, boolean sandbox) throws Exception {
        Map<String, Long> m = new LinkedHashMap<>();
        try (Daemon d = Daemon.launch(
                c,
                setup,
                shared,
                logs.resolve("inodes-" + c.key() + ".sock"),
                logs.resolve("inodes-" + c.key() + ".log"),
                null,
                sandbox)) {
            try (VhostUserFrontend fe = d.connect(Load.frontendOptions(false), 120_000_000_000L)) {
                m.put("fds_before", d.openFds());
                m.put("rss_kib_before", d.rssKiB());
                long t0 = System.nanoTime();
                m.put("lookups_failed_out_of_fds", (long) Load.lookupMany(fe, files));
                m.put("lookup_ms", (System.nanoTime() - t0) / 1_000_000);
                m.put("fds", d.openFds());
                m.put("rss_kib", d.rssKiB());
                m.put("rss_shmem_kib", d.rssShmemKiB());
            }
        }
        log(String.format("  %-24s %s", c.key(), m));
        return m;
    }

    /**
     * The shared directory: small-4k, read-8m, write-8m, dir-1000 (1,000 empty files), create/
     * (emptied), many/ (files m000000.. that the inode figures look up; made once and kept).
     */
    static void prepareSharedDir(Path shared, int files) throws IOException {
        Files.createDirectories(shared);
        byte[] page = new byte[4096];
        for (int i = 0; i < page.length; i++) {
            page[i] = (byte) i;
        }
        Files.write(shared.resolve(Load.SMALL_FILE), page);
        byte[] mib = new byte[Load.MIB];
        for (String f : List.of(Load.READ_FILE, Load.WRITE_FILE)) {
            Path p = shared.resolve(f);
            if (!Files.exists(p) || Files.size(p) != (long) Load.FILE_MIB * Load.MIB) {
                try (var out = Files.newOutputStream(p)) {
                    for (int i = 0; i < Load.FILE_MIB; i++) {
                        out.write(mib);
                    }
                }
            }
        }
        Path big = Files.createDirectories(shared.resolve(Load.BIG_DIR));
        for (int i = 0; i < 1000; i++) {
            createIfMissing(big.resolve(String.format("e%04d", i)));
        }
        Path create = Files.createDirectories(shared.resolve(Load.CREATE_DIR));
        try (Stream<Path> leftovers = Files.list(create)) {
            for (Path p : (Iterable<Path>) leftovers::iterator) {
                Files.delete(p);
            }
        }
        Path many = Files.createDirectories(shared.resolve(Load.MANY_DIR));
        Path marker = shared.resolve(".many-count");
        int have =
                Files.exists(marker) ? Integer.parseInt(Files.readString(marker).trim()) : 0;
        if (have < files) {
            log("creating " + files + " files in " + many);
            for (int i = have; i < files; i++) {
                createIfMissing(many.resolve(Load.manyName(i)));
            }
            Files.writeString(marker, Integer.toString(files));
        }
    }

    private static void createIfMissing(Path p) throws IOException {
        try {
            Files.createFile(p);
        } catch (FileAlreadyExistsException e) {
            // kept from an earlier run
        }
    }

    /** On a stall: our daemon's thread dump (jcmd), for the report. */
    private static void dumpThreads(Daemon d, Path file) {
        try {
            String jcmd =
                    Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
            new ProcessBuilder(jcmd, Long.toString(d.pid()), "Thread.print")
                    .redirectErrorStream(true)
                    .redirectOutput(file.toFile())
                    .start()
                    .waitFor();
            log("thread dump of the stalled daemon: " + file);
        } catch (IOException | InterruptedException e) {
            log("no thread dump: " + e);
        }
    }

    static void log(String s) {
        System.err.println("[benchmark] " + s);
    }
}
