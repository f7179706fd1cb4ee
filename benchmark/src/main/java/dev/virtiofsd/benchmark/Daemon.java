package dev.virtiofsd.benchmark;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.frontend.VhostUserFrontend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** One daemon process under test: how to launch it, its process, its /proc figures. */
final class Daemon implements AutoCloseable {

    /**
     * A daemon configuration: a table column; {@code javaOpts}: extra JVM options of ours (or "");
     * {@code javaHome}: the JDK that runs ours (or "": the launcher's own choice); {@code dist}: the
     * distribution folder whose {@code bin/virtiofsd-java} runs ours (or "": this checkout's build).
     */
    record Config(String key, String label, boolean ours, String mode, String javaOpts, String javaHome, String dist) {
        Config(String key, String label, boolean ours, String mode) {
            this(key, label, ours, mode, "", "", "");
        }
    }

    static final List<Config> CONFIGS = configs(System.getenv("VIRTIOFSD_BENCH_VARIANT"));

    /**
     * The five columns, plus, for A/B diagnosis within one alternating run, one more of ours
     * (fd-only, paired with the peer's never) from VIRTIOFSD_BENCH_VARIANT="NAME:JVM OPTIONS",
     * e.g. "nopoll:-Dvirtiofsd.vhostuser.poll-micros=0", or "NAME:JAVA_HOME=DIR:JVM OPTIONS" to run
     * that column on another JDK, e.g. "jdk25:JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64:", or
     * "NAME:DIST=DIR:JVM OPTIONS" to run another build of ours (a copy of an older
     * distribution/target/virtiofsd-java), e.g. "main:DIST=/tmp/dist-main:", for an A/B of a code
     * change that no option toggles. DIST= and JAVA_HOME= may both be given, in either order.
     */
    static List<Config> configs(String variant) {
        List<Config> c = new ArrayList<>(List.of(
                new Config("peer-never", "Rust virtiofsd never", false, "never"),
                new Config("peer-prefer", "Rust virtiofsd prefer", false, "prefer"),
                new Config("ours-fd", "ours fd-only", true, "never"),
                new Config("ours-handle-preferred", "ours handle-preferred", true, "prefer"),
                new Config("ours-handle-only", "ours handle-only", true, "mandatory")));
        for (String v : variant == null ? new String[0] : variant.split(";", -1)) {
            addVariant(c, v.trim());
        }
        return List.copyOf(c);
    }

    /** One VIRTIOFSD_BENCH_VARIANT column ("NAME:[JAVA_HOME=DIR:]OPTIONS"); several are separated by ';'. */
    private static void addVariant(List<Config> c, String variant) {
        if (variant.contains(":")) {
            String name = variant.substring(0, variant.indexOf(':'));
            String opts = variant.substring(name.length() + 1);
            String javaHome = "";
            String dist = "";
            while (opts.startsWith("JAVA_HOME=") || opts.startsWith("DIST=")) {
                int eq = opts.indexOf('=');
                int end = opts.indexOf(':');
                String value = opts.substring(eq + 1, end < 0 ? opts.length() : end);
                if (opts.startsWith("DIST=")) {
                    dist = value;
                } else {
                    javaHome = value;
                }
                opts = end < 0 ? "" : opts.substring(end + 1);
            }
            c.add(new Config("ours-fd-" + name, "ours fd-only " + name, true, "never", opts.trim(), javaHome, dist));
        }
    }

    /** Which peer column each of our columns is compared with. */
    static String peerOf(String oursKey) {
        return oursKey.startsWith("ours-fd") ? "peer-never" : "peer-prefer";
    }

    final Config config;
    final Process process;
    final Path socket;
    final long launchedNanos;

    private Daemon(Config config, Process process, Path socket, long launchedNanos) {
        this.config = config;
        this.process = process;
        this.socket = socket;
        this.launchedNanos = launchedNanos;
    }

    /**
     * Launches {@code config} serving {@code shared} on {@code socket}. The fd limit is raised
     * (root may) so that the peer's 100,000 O_PATH fds in "never" mode fit; our JVM raises its soft
     * limit to the hard limit by itself.
     */
    static Daemon launch(
            Config config, Setup setup, Path shared, Path socket, Path log, String javaOpts, boolean sandbox)
            throws IOException {
        return launch(config, setup, shared, socket, log, javaOpts, sandbox, Map.of());
    }

    /** As above, with extra environment variables for the daemon (e.g. VIRTIOFSD_STARTUP_TRACE). */
    static Daemon launch(
            Config config,
            Setup setup,
            Path shared,
            Path socket,
            Path log,
            String javaOpts,
            boolean sandbox,
            Map<String, String> extraEnv)
            throws IOException {
        Files.deleteIfExists(socket);
        List<String> cmd = new ArrayList<>(List.of(
                "sh",
                "-c",
                "ulimit -Hn 1048576 2>/dev/null; ulimit -Sn \"$(ulimit -Hn)\" 2>/dev/null; exec \"$@\"",
                "sh"));
        if (config.ours) {
            cmd.addAll(setup.oursCommand(config, javaOpts));
        } else {
            cmd.add(setup.peer.toString());
        }
        if (!sandbox && !(config.ours && setup.inProcess())) {
            cmd.add("--sandbox");
            cmd.add("none");
            cmd.add("--seccomp");
            cmd.add("none");
        }
        cmd.add("--shared-dir");
        cmd.add(shared.toString());
        cmd.add("--socket-path");
        cmd.add(socket.toString());
        cmd.add("--inode-file-handles=" + config.mode);
        cmd.add("--thread-pool-size=0");
        cmd.add("--log-level=error");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        if (config.ours && !config.javaOpts.isEmpty()) {
            javaOpts = javaOpts == null ? config.javaOpts : config.javaOpts + " " + javaOpts;
        }
        if (config.ours && javaOpts != null && !javaOpts.isBlank()) {
            // Keep options the caller set for our daemon (e.g. -XX:+DumpPerfMapAtExit for perf).
            String inherited = env.getOrDefault("VIRTIOFSD_JAVA_OPTS", "");
            env.put("VIRTIOFSD_JAVA_OPTS", (inherited + " " + javaOpts).trim());
            if (javaOpts.contains("FlightRecording")) {
                // The bin script's CDS archive dump (first start per option set) disables JFR.
                env.put("VIRTIOFSD_JAVA_CDS", "off");
            }
        }
        if (config.ours && !config.javaHome.isEmpty()) {
            env.put("JAVA_HOME", config.javaHome);
        }
        env.putAll(extraEnv);
        long t0 = System.nanoTime();
        Process p = pb.start();
        return new Daemon(config, p, socket, t0);
    }

    /**
     * Connects the front end as soon as the socket accepts; returns it. {@link #startupNanos} is
     * set to the time from launch until the connection was accepted (the vhost-user set-up that
     * follows is not counted).
     */
    VhostUserFrontend connect(VhostUserFrontend.Options options, long timeoutNanos) throws IOException {
        long deadline = launchedNanos + timeoutNanos;
        while (true) {
            if (!process.isAlive()) {
                throw new IOException(config.label + " exited with status " + process.exitValue()
                        + " before accepting a connection; see its log");
            }
            if (Files.exists(socket)) {
                long before = System.nanoTime();
                try {
                    VhostUserFrontend fe = VhostUserFrontend.connect(socket.toString(), options);
                    if (startupNanos == 0) {
                        // connect() opens the socket first and then negotiates; the accept is the
                        // socket open, so take the time before negotiation (the probe's own start).
                        startupNanos = before - launchedNanos;
                    }
                    return fe;
                } catch (ErrnoException e) {
                    // ECONNREFUSED while the file exists but listen() has not happened yet
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IOException(config.label + " did not accept a connection on " + socket + " within "
                        + TimeUnit.NANOSECONDS.toSeconds(timeoutNanos) + " s");
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
        }
    }

    long startupNanos;

    /**
     * The serving process: ours is the process started; Rust virtiofsd in its namespace sandbox
     * forks the serving child (in a new pid namespace) and waits for it.
     */
    long pid() {
        return process.children().findFirst().map(ProcessHandle::pid).orElse(process.pid());
    }

    /** What /proc says of the serving process: its seccomp mode, CapEff and mount namespace. */
    String confinement() throws IOException {
        String seccomp = "?";
        String capEff = "?";
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
            if (line.startsWith("Seccomp:")) {
                seccomp = line.substring(8).trim();
            } else if (line.startsWith("CapEff:")) {
                capEff = line.substring(7).trim().replaceFirst("^0+(?=.)", "");
            }
        }
        boolean ownMounts = !Files.readSymbolicLink(Path.of("/proc", Long.toString(pid()), "ns", "mnt"))
                .equals(Files.readSymbolicLink(Path.of("/proc/self/ns/mnt")));
        return "Seccomp " + seccomp + ", CapEff 0x" + capEff + ", " + (ownMounts ? "own" : "host") + " mount namespace";
    }

    /**
     * CPU-seconds (utime + stime of every thread) used so far by the daemon: the launched process
     * and its live descendants (a sandboxed daemon may serve from a forked child).
     */
    double cpuSeconds() {
        return Proc.cpuSeconds(process.pid());
    }

    /** Number of entries of /proc/PID/fd. */
    long openFds() throws IOException {
        try (var s = Files.list(Path.of("/proc", Long.toString(pid()), "fd"))) {
            return s.count();
        }
    }

    /** VmRSS of /proc/PID/status in KiB. */
    long rssKiB() throws IOException {
        return statusField("VmRSS");
    }

    /** RssShmem (guest memory the daemon touched: shared, counted in VmRSS) in KiB. */
    long rssShmemKiB() throws IOException {
        return statusField("RssShmem");
    }

    private long statusField(String name) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
            if (line.startsWith(name + ":")) {
                return Long.parseLong(line.substring(name.length() + 1).trim().split("\\s+", -1)[0]);
            }
        }
        throw new IOException("no " + name + " in /proc/" + pid() + "/status");
    }

    /** Waits up to {@code seconds} for the daemon to exit by itself (after its front end left). */
    void waitForExit(int seconds) throws InterruptedException {
        process.waitFor(seconds, TimeUnit.SECONDS);
    }

    /** Waits for exit after the front end disconnected; then SIGTERM, then SIGKILL. */
    @Override
    public void close() {
        try {
            if (!process.waitFor(3, TimeUnit.SECONDS)) {
                process.destroy();
                if (!process.waitFor(3, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(3, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            // left behind: deleted before the next launch
        }
    }
}
