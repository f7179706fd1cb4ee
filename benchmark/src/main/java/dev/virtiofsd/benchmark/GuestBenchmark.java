package dev.virtiofsd.benchmark;

import dev.virtiofsd.frontend.guest.Cpio;
import dev.virtiofsd.frontend.guest.DaemonSocket;
import dev.virtiofsd.frontend.guest.Initramfs;
import dev.virtiofsd.frontend.guest.QemuCommand;
import dev.virtiofsd.frontend.guest.Scripts;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What a guest feels: a real QEMU guest (TCG, one vCPU, busybox initramfs, Linux 6.1's virtiofs)
 * runs a fixed workload on the share (creates, {@code ls -l}, reads of many small files, a large
 * sequential write and read, removes: see guest-bench/init.sh) against a daemon launched just
 * before QEMU starts. The first pass of each boot meets a cold daemon, the last one a warm daemon.
 * Boots alternate between ours and the peer (which goes first alternates too). The host samples
 * each daemon's CPU time (per thread kind) at every phase boundary the guest prints.
 */
final class GuestBenchmark {
    private GuestBenchmark() {}

    /**
     * The daemons, with their defaults (ours fd-only, the peer's "never"), plus the
     * VIRTIOFSD_BENCH_VARIANT column of ours if there is one (e.g. ours on another JDK).
     */
    static final List<String> DAEMONS = daemons(Daemon.CONFIGS);

    static List<String> daemons(List<Daemon.Config> configs) {
        List<String> d = new ArrayList<>(List.of("peer-never", "ours-fd"));
        for (Daemon.Config c : configs) {
            if (c.key().startsWith("ours-fd-")) {
                d.add(c.key());
            }
        }
        return List.copyOf(d);
    }

    static final List<String> PHASES = List.of("create", "ls-l", "cat", "write", "read", "rm");

    /** What to run. */
    static final class Settings {
        int boots = 5;
        int files = 2000;
        int bigMib = 256;
        int passes = 2;
        long timeoutSeconds = 1200;

        static Settings shortSettings() {
            Settings s = new Settings();
            s.boots = 1;
            s.files = 50;
            s.bigMib = 8;
            s.passes = 2;
            s.timeoutSeconds = 600;
            return s;
        }
    }

    /** One boot of one daemon. */
    static final class Boot {
        final String daemon;
        final int index;
        double launchToListenMs;
        /** Host clock, from the daemon's launch until the guest printed MOUNTED. */
        double launchToMountedMs;
        /** "1 create" -> seconds (guest clock). */
        final Map<String, Double> seconds = new LinkedHashMap<>();
        /** "1 create" -> CPU-seconds of the daemon in that phase. */
        final Map<String, Double> daemonCpu = new LinkedHashMap<>();
        /** "1 create" -> thread group -> CPU-seconds (ours: JIT, request threads, ...). */
        final Map<String, Map<String, Double>> daemonCpuByThread = new LinkedHashMap<>();
        /** "1 create" -> CPU-seconds of QEMU in that phase. */
        final Map<String, Double> qemuCpu = new LinkedHashMap<>();
        /** Daemon CPU from launch until MOUNTED (start-up and FUSE INIT). */
        double startCpu;

        /** Daemon CPU from launch until the end of the last phase (NaN if that sample was not whole). */
        double totalCpu = Double.NaN;

        Map<String, Double> startCpuByThread = Map.of();

        Boot(String daemon, int index) {
            this.daemon = daemon;
            this.index = index;
        }
    }

    /** Everything measured. */
    static final class Results {
        final Settings settings;
        final List<Boot> boots = new ArrayList<>();
        String qemu;
        String kernel;

        Results(Settings settings) {
            this.settings = settings;
        }

        /** Values of {@code f} over the boots of {@code daemon} (those that have it). */
        List<Double> values(String daemon, java.util.function.Function<Boot, Double> f) {
            List<Double> v = new ArrayList<>();
            for (Boot b : boots) {
                if (b.daemon.equals(daemon)) {
                    Double x = f.apply(b);
                    if (x != null) {
                        v.add(x);
                    }
                }
            }
            return v;
        }

        /** Phase key of the cold (first) or warm (last) pass. */
        String key(boolean cold, String phase) {
            return (cold ? 1 : settings.passes) + " " + phase;
        }
    }

    static Results run(Setup setup, Path out, Settings s) throws IOException, InterruptedException {
        Results r = new Results(s);
        Path work = Files.createDirectories(out.resolve("guest-bench"));
        Path kernelDir = Path.of(Scripts.lastLine(setup.root.resolve("scripts/guest/fetch-kernel.sh"), 900));
        Path initramfs = work.resolve("initramfs.cpio");
        buildInitramfs(kernelDir, initramfs);
        r.qemu = firstLine("qemu-system-x86_64", "--version");
        r.kernel = kernelDir.toString();
        for (String key : DAEMONS) {
            if (config(key).ours()) {
                // As after a first use: a --sandbox none start writes the class-data cache (at once on
                // JDK 17, at its exit with the run's profiles on JDK 25) that the sandboxed boots map.
                Benchmark.log("guest boot to train " + key + " (--sandbox none, not counted)");
                boot(setup, work, kernelDir, initramfs, s, key, -1, false);
                assembleCache(setup, config(key));
            }
        }
        for (int i = 0; i < s.boots; i++) {
            // Who goes first rotates (with two daemons: alternates).
            List<String> order = new ArrayList<>(DAEMONS);
            java.util.Collections.rotate(order, -(i % DAEMONS.size()));
            for (String key : order) {
                Benchmark.log("guest boot " + (i + 1) + "/" + s.boots + ": " + key);
                Boot b = boot(setup, work, kernelDir, initramfs, s, key, i, true);
                r.boots.add(b);
                Benchmark.log("  " + key + " launch->mounted " + Math.round(b.launchToMountedMs) + " ms, phases "
                        + b.seconds + ", daemon CPU " + round(b.daemonCpu));
            }
        }
        return r;
    }

    private static Map<String, Double> round(Map<String, Double> m) {
        Map<String, Double> o = new LinkedHashMap<>();
        m.forEach((k, v) -> o.put(k, Math.round(v * 100) / 100.0));
        return o;
    }

    private static Daemon.Config config(String key) {
        return Daemon.CONFIGS.stream()
                .filter(c -> c.key().equals(key))
                .findFirst()
                .orElseThrow();
    }

    private static Boot boot(
            Setup setup, Path work, Path kernelDir, Path initramfs, Settings s, String key, int index, boolean sandbox)
            throws IOException, InterruptedException {
        Boot b = new Boot(key, index);
        Path shared = work.resolve("shared-" + key);
        deleteTree(shared);
        Files.createDirectories(shared);
        Path sockDir = Files.createTempDirectory(Path.of("/tmp"), "vfsb");
        Path socket = sockDir.resolve("vhost.sock");
        Path console = work.resolve("console-" + key + "-" + (index + 1) + ".log");
        Path qemuLog = work.resolve("qemu-" + key + "-" + (index + 1) + ".log");
        Files.deleteIfExists(console);
        Process qemu = null;
        Daemon d = Daemon.launch(
                config(key),
                setup,
                shared,
                socket,
                work.resolve("daemon-" + key + "-" + (index + 1) + ".log"),
                null,
                sandbox);
        try {
            long t0 = d.launchedNanos;
            long deadline = t0 + TimeUnit.SECONDS.toNanos(60);
            while (!listening(socket, d.process.pid(), d.pid())) {
                if (!d.process.isAlive()) {
                    throw new IOException(key + " exited before listening; see " + work);
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException(key + " did not listen within 60 s");
                }
                Thread.sleep(2);
            }
            b.launchToListenMs = (System.nanoTime() - t0) / 1e6;
            List<String> cmd = QemuCommand.x86(1024)
                    .noReboot()
                    .virtiofs("c", socket, "myfs", 1)
                    .boot(
                            kernelDir,
                            initramfs,
                            "console=ttyS0 quiet panic=-1 bench.files=" + s.files + " bench.bigmib=" + s.bigMib
                                    + " bench.passes=" + s.passes)
                    .console(console)
                    .argv();
            qemu = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(qemuLog.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            follow(b, d, qemu, console, s, t0);
            if (!qemu.waitFor(30, TimeUnit.SECONDS)) {
                throw new IOException("QEMU did not power off after the workload; see " + console);
            }
            if (!sandbox) {
                // A training run writes its cache as it exits (JDK 25: a second JVM assembles it).
                d.waitForExit(300);
            }
        } finally {
            if (qemu != null && qemu.isAlive()) {
                qemu.destroyForcibly();
                qemu.waitFor(10, TimeUnit.SECONDS);
            }
            d.close();
            deleteTree(sockDir);
            deleteTree(shared);
        }
        return b;
    }

    /**
     * On JDK 25+ a training run leaves a recording that the next start assembles into the
     * ahead-of-time cache in the background (bin/virtiofsd-java): start that next start (a
     * --version, 5 s after the recording was written) and wait for the assembly, so that no counted
     * boot runs beside it or without the cache.
     */
    static void assembleCache(Setup setup, Daemon.Config config) throws IOException, InterruptedException {
        if (setup.inProcess()) {
            return;
        }
        Thread.sleep(6_000);
        List<String> cmd = new ArrayList<>(setup.oursCommand(null));
        cmd.add("--version");
        ProcessBuilder pb =
                new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        if (!config.javaOpts().isEmpty()) {
            String inherited = pb.environment().getOrDefault("VIRTIOFSD_JAVA_OPTS", "");
            pb.environment().put("VIRTIOFSD_JAVA_OPTS", (inherited + " " + config.javaOpts()).trim());
        }
        if (!config.javaHome().isEmpty()) {
            pb.environment().put("JAVA_HOME", config.javaHome());
        }
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        Path cache = cacheDir();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (cache != null && Files.isDirectory(cache) && System.nanoTime() < deadline) {
            try (Stream<Path> files = Files.list(cache)) {
                if (files.noneMatch(f -> f.getFileName().toString().endsWith(".assembling"))) {
                    return;
                }
            }
            Thread.sleep(200);
        }
    }

    /** bin/virtiofsd-java's cache directory. */
    private static Path cacheDir() {
        String dir = System.getenv("VIRTIOFSD_JAVA_CACHE_DIR");
        if (dir != null && !dir.isEmpty()) {
            return Path.of(dir);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isEmpty()) {
            return Path.of(xdg, "virtiofsd-java");
        }
        String home = System.getenv("HOME");
        Path p = home == null || home.isEmpty() ? null : Path.of(home, ".cache", "virtiofsd-java");
        return p != null && Files.isDirectory(p) ? p : null;
    }

    /** Reads the console as it grows; samples CPU times at every marker; returns at BENCH-END. */
    private static void follow(Boot b, Daemon d, Process qemu, Path console, Settings s, long t0)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(s.timeoutSeconds);
        long offset = 0;
        StringBuilder partial = new StringBuilder();
        Map<String, Double> cpuAtBegin = Map.of();
        Proc.Sample sampleAtBegin = null;
        double qemuAtBegin = 0;
        while (true) {
            if (System.nanoTime() > deadline) {
                throw new IOException(
                        "guest benchmark: no BENCH-END within " + s.timeoutSeconds + " s; see " + console);
            }
            if (!qemu.isAlive()) {
                throw new IOException("QEMU exited (" + qemu.exitValue() + ") before BENCH-END; see " + console);
            }
            String chunk = "";
            if (Files.exists(console)) {
                try (RandomAccessFile f = new RandomAccessFile(console.toFile(), "r")) {
                    long len = f.length();
                    if (len > offset) {
                        byte[] buf = new byte[(int) (len - offset)];
                        f.seek(offset);
                        f.readFully(buf);
                        offset = len;
                        chunk = new String(buf, StandardCharsets.ISO_8859_1);
                    }
                }
            }
            partial.append(chunk);
            int nl;
            while ((nl = partial.indexOf("\n")) >= 0) {
                String line = partial.substring(0, nl).replace("\r", "").trim();
                partial.delete(0, nl + 1);
                String[] f = line.split(" ", -1);
                if (line.startsWith("BENCH-FAIL")) {
                    throw new IOException("guest benchmark failed in the guest: " + line + "; see " + console);
                } else if (line.equals("BENCH-END")) {
                    return;
                } else if (f[0].equals("MOUNTED")) {
                    b.launchToMountedMs = (System.nanoTime() - t0) / 1e6;
                    b.startCpuByThread = Proc.cpuByThreadGroup(d.process.pid());
                    b.startCpu = Proc.sample(d.process.pid()).seconds();
                } else if (f[0].equals("PHASE") && f.length >= 4 && f[3].equals("begin")) {
                    sampleAtBegin = Proc.sample(d.process.pid());
                    cpuAtBegin = Proc.cpuByThreadGroup(d.process.pid());
                    qemuAtBegin = Proc.cpuSeconds(qemu.pid());
                } else if (f[0].equals("PHASE") && f.length >= 5 && f[3].equals("end")) {
                    Proc.Sample end = Proc.sample(d.process.pid());
                    Map<String, Double> cpu = Proc.minus(Proc.cpuByThreadGroup(d.process.pid()), cpuAtBegin);
                    String phase = f[1] + " " + f[2];
                    b.seconds.put(phase, Double.parseDouble(f[4]));
                    // The whole process's time (exited threads too); none when the daemon exited meanwhile.
                    Double used = sampleAtBegin == null ? null : Proc.used(sampleAtBegin, end);
                    if (used != null) {
                        b.daemonCpu.put(phase, used);
                        b.daemonCpuByThread.put(phase, cpu);
                    }
                    b.totalCpu = end.whole() ? end.seconds() : Double.NaN;
                    b.qemuCpu.put(phase, Proc.cpuSeconds(qemu.pid()) - qemuAtBegin);
                }
            }
            Thread.sleep(10);
        }
    }

    /**
     * True once a listening socket bound to the path shows in /proc/net/unix, of this network
     * namespace or of the daemon's processes: ours, sandboxed, listens from the new network namespace
     * it was started in; the peer listens before it enters its own.
     */
    static boolean listening(Path socket, long... pids) throws IOException {
        return DaemonSocket.listening(socket, pids);
    }

    /** Busybox, the virtio-fs module chain of the kernel layout, and guest-bench/init.sh as /init. */
    static void buildInitramfs(Path kernelDir, Path target) throws IOException {
        byte[] init;
        try (InputStream in = GuestBenchmark.class.getResourceAsStream("/guest-bench/init.sh")) {
            if (in == null) {
                throw new IOException("guest-bench/init.sh missing from the class path");
            }
            init = in.readAllBytes();
        }
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        try (Cpio cpio = new Cpio(tmp)) {
            Initramfs.base(cpio, List.of(), init);
            Initramfs.modules(cpio, kernelDir);
        }
        Files.move(tmp, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private static String firstLine(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String s = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.SECONDS);
            return s.lines().findFirst().orElse("unknown");
        } catch (IOException e) {
            return "unknown";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
