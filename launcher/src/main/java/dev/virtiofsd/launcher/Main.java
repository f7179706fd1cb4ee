package dev.virtiofsd.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * The daemon's entry point: parses the virtiofsd-compatible command line, boots Felix with the
 * distribution's bundles, hands the options to them through ConfigAdmin and waits until a
 * transport serves, then until it is told to stop (SIGTERM/SIGINT, DaemonControl.stop).
 */
public final class Main {
    /** System property naming the distribution's root (bin/, lib/, bundles/, conf/). */
    public static final String HOME_PROPERTY = "virtiofsd.home";
    /** Seconds to wait for a transport to report it serves. */
    public static final String START_TIMEOUT_PROPERTY = "virtiofsd.start.timeout";

    public static final String PID_PASSTHROUGH = "dev.virtiofsd.passthrough";
    public static final String PID_VHOST_USER = "dev.virtiofsd.transport.vhostuser";
    public static final String PID_FUSE_DEV = "dev.virtiofsd.transport.fusedev";
    public static final String PID_CONTROL = "dev.virtiofsd.control";
    public static final String PID_LAUNCHER = Profile.LAUNCHER_PID;

    /**
     * Which command-line options set each configuration key ("PID/key"): such a key of a profile is
     * replaced only when one of its options was given. A key missing here is replaced when its
     * command-line value differs from the default.
     */
    static final Map<String, List<String>> KEY_OPTIONS = new HashMap<>();

    static {
        source(PID_PASSTHROUGH, "shared.dir", "--shared-dir");
        source(PID_PASSTHROUGH, "cache", "--cache");
        source(PID_PASSTHROUGH, "xattr", "--xattr");
        source(PID_PASSTHROUGH, "readonly", "--readonly");
        source(PID_PASSTHROUGH, "announce.submounts", "--announce-submounts", "--no-announce-submounts");
        source(PID_PASSTHROUGH, "strategy", "--strategy", "--inode-file-handles");
        source(PID_FUSE_DEV, "mountpoint", "--mountpoint");
        source(PID_FUSE_DEV, "threads", "--thread-pool-size");
        source(PID_VHOST_USER, "socket.path", "--socket-path");
        source(PID_VHOST_USER, "fd", "--fd");
        source(PID_VHOST_USER, "socket.group", "--socket-group");
        source(PID_VHOST_USER, "thread.pool.size", "--thread-pool-size");
        source(PID_CONTROL, "socket.path", "--control-socket");
    }

    private static void source(String pid, String key, String... options) {
        KEY_OPTIONS.put(pid + "/" + key, List.of(options));
    }

    private Main() {}

    public static void main(String[] args) {
        CoverageDump.install();
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Everything before the framework boots, testable without exiting: returns the exit status
     * for --help/--version/--print-capabilities and command-line errors, or -1 to go on.
     */
    static int preflight(Options[] parsed, String[] args, PrintStream out, PrintStream err) {
        Options o;
        try {
            o = CommandLine.parse(args);
            if (o.help) {
                out.print(CommandLine.help());
                return 0;
            }
            if (o.version) {
                out.println(CommandLine.PROGRAM + " " + version());
                return 0;
            }
            if (o.printCapabilities) {
                out.print(CommandLine.capabilities());
                return 0;
            }
            if (o.profile != null) {
                o.loadedProfile = Profile.load(o.profile, home());
                applyLauncherSection(o, o.loadedProfile);
                CommandLine.checkCombination(o);
            }
            CommandLine.validate(o);
        } catch (UsageException e) {
            err.println(CommandLine.PROGRAM + ": " + e.getMessage());
            return e.exitStatus();
        }
        parsed[0] = o;
        return -1;
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        StartupTrace.early("main entered");
        Options[] parsed = new Options[1];
        int status = preflight(parsed, args, out, err);
        if (status >= 0) {
            return status;
        }
        Options o = parsed[0];
        Sandbox sandbox;
        try {
            sandbox = Sandbox.check(o);
        } catch (FelixLauncher.LaunchException e) {
            err.println(CommandLine.PROGRAM + ": " + e.getMessage());
            return 1;
        }
        StartupTrace.early("command line parsed");
        // The class path scan for the system packages and the native warm-up run beside logging and Felix.
        FutureTask<String> systemPackages =
                new FutureTask<>(() -> SystemPackages.compute(SystemPackages.classPath(), SystemPackages.SHARED_JARS));
        // jffi extracts its stub library at first use and deletes it at exit, by path: into a
        // directory of this run, removed before the sandbox closes (the library is loaded by then).
        Path[] scratch = {NativePrewarm.extractDirectory()};
        NativePrewarm.start(systemPackages);
        try {
            return serve(o, sandbox, systemPackages, scratch, err);
        } finally {
            // Not after the sandbox closed: then the scratch directory is gone already, and its
            // path would name a place in the shared directory.
            FelixLauncher.deleteTree(scratch[0]);
        }
    }

    private static int serve(
            Options o, Sandbox sandbox, FutureTask<String> systemPackages, Path[] scratch, PrintStream err) {
        int status;
        Path home = home();
        configureLogging(home, o.logLevel);
        Logger log = LoggerFactory.getLogger(Main.class);
        if (o.syslog) {
            useSyslog(log);
        }
        StartupTrace.mark("logging configured");
        if (o.deprecatedSocket) {
            log.warn("use of deprecated parameter '--socket': Please use the '--socket-path' option instead");
        }
        o.warnings.forEach(log::warn);

        DaemonEvents events = new DaemonEvents();
        for (String name : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), sig -> events.stop(0, "received SIG" + sig.getName()));
        }

        List<Path> dirs = new ArrayList<>();
        if (home != null) {
            dirs.add(home.resolve("bundles"));
        }
        dirs.addAll(o.bundleDirs);
        // Name, version and SHA-256 of every bundle, hashed beside the framework's start.
        FutureTask<List<String>> inventory = new FutureTask<>(() -> {
            List<String> lines = new ArrayList<>();
            for (Path dir : dirs) {
                for (Path jar : BundleTrust.jars(dir)) {
                    lines.add(BundleTrust.describe(jar));
                }
            }
            return lines;
        });
        Thread hashing = new Thread(inventory, "bundle-inventory");
        hashing.setDaemon(true);
        hashing.start();
        Map<String, String> frameworkProperties = new HashMap<>();
        try {
            frameworkProperties.put(org.osgi.framework.Constants.FRAMEWORK_SYSTEMPACKAGES_EXTRA, systemPackages.get());
        } catch (ExecutionException e) {
            // FelixLauncher computes it again and reports the failure
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
        // A transport's ready() returns once the sandbox is closed: nothing from outside is served before.
        events.holdReadyUntilReleased();
        try (FelixLauncher launcher = new FelixLauncher(dirs, frameworkProperties, events)) {
            try {
                if (o.loadedProfile != null) {
                    launcher.excludeBundles(o.loadedProfile.excludedBundles());
                    log.info("profile {}", o.loadedProfile);
                }
                launcher.start();
                logInventory(log, inventory);
                sandbox.prepare(launcher);
                Map<String, Map<String, Object>> configurations = effectiveConfigurations(o, sandbox.confines());
                // The control socket first, and bound before anything else is configured: a
                // transport's activation blocks until the sandbox is closed (ready), and the
                // framework activates components one after the other, so a control component
                // configured after it would bind only after the sandbox forbids socket().
                Map<String, Object> control = configurations.remove(PID_CONTROL);
                if (control != null) {
                    Object before = fileKey(o.controlSocket);
                    launcher.configure(PID_CONTROL, control);
                    awaitControlSocket(o.controlSocket, before, Long.getLong(START_TIMEOUT_PROPERTY, 20));
                }
                for (Map.Entry<String, Map<String, Object>> e : configurations.entrySet()) {
                    launcher.configure(e.getKey(), e.getValue());
                }
                StartupTrace.mark("configured");
            } catch (FelixLauncher.LaunchException | UsageException e) {
                err.println(CommandLine.PROGRAM + ": " + e.getMessage());
                return 1;
            }
            long timeout = Long.getLong(START_TIMEOUT_PROPERTY, 20);
            if (!events.awaitReadyOrStop(timeout, TimeUnit.SECONDS)) {
                String what = launcher.diagnose();
                err.println(CommandLine.PROGRAM + ": not serving after " + timeout + " s: "
                        + (what.isEmpty()
                                ? "no transport reported ready (is the " + o.transport + " transport bundle installed?)"
                                : what));
                return 1;
            }
            StartupTrace.mark("ready");
            if (!events.stopRequested()) {
                // Paths outside the shared directory are out of reach once the sandbox is closed.
                CdsArchive.dumpIfRequested(sandbox.confines());
                CdsArchive.markTrained();
                FelixLauncher.deleteTree(scratch[0]);
                scratch[0] = null;
                if (sandbox.confines()) {
                    launcher.releaseStorage();
                }
                StartupTrace.mark("scratch deleted");
                try {
                    sandbox.close(launcher);
                } catch (FelixLauncher.LaunchException e) {
                    events.stop(1, e.getMessage());
                    err.println(CommandLine.PROGRAM + ": " + e.getMessage());
                    return 1;
                }
                StartupTrace.mark("sandbox closed");
                events.release();
                log.info(
                        "serving {} ({}, strategy {}; {})",
                        o.sharedDir,
                        events.readyWhat(),
                        o.strategyName(),
                        sandbox.describe());
                CdsArchive.compactAfterStart();
                events.awaitStop();
            }
            status = events.stopStatus();
            String reason = events.stopReason();
            if (status == 0) {
                log.info("stopping: {}", reason);
            } else {
                err.println(CommandLine.PROGRAM + ": " + reason);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
        return status;
    }

    private static void logInventory(Logger log, FutureTask<List<String>> inventory) {
        try {
            for (String line : inventory.get()) {
                log.info("bundle {}", line);
            }
        } catch (ExecutionException e) {
            log.warn("cannot list the bundles: {}", e.getCause().toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** PID -> properties for the chosen transport and the passthrough filesystem, without sandbox. */
    public static Map<String, Map<String, Object>> configurations(Options o) {
        return configurations(o, false);
    }

    /**
     * PID -> properties for the chosen transport and the passthrough filesystem.
     *
     * @param confined the sandbox makes paths outside the shared directory unreachable once the transport is ready
     */
    public static Map<String, Map<String, Object>> configurations(Options o, boolean confined) {
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        Map<String, Object> fs = new LinkedHashMap<>();
        fs.put("shared.dir", Paths.get(o.sharedDir).toAbsolutePath().normalize().toString());
        fs.put("cache", o.cache);
        fs.put("xattr", o.xattrEnabled());
        fs.put("readonly", o.readonly);
        fs.put("announce.submounts", o.announceSubmounts);
        fs.put("posix.acl", o.posixAcl);
        fs.put("security.label", o.securityLabel);
        fs.put("writeback", o.writeback);
        fs.put("allow.direct.io", o.allowDirectIo);
        fs.put("allow.mmap", o.allowMmap);
        fs.put("readdirplus", o.readdirplus());
        fs.put("killpriv.v2", o.killprivV2);
        fs.put("preserve.noatime", o.preserveNoatime);
        fs.put("posix.locks", o.posixLocks);
        fs.put("flock.locks", o.flockLocks);
        if (o.xattrmap != null) {
            fs.put("xattrmap", XattrMapSyntax.encode(o.xattrmapRules));
        }
        if (!o.translateUid.isEmpty()) {
            fs.put("translate.uid", o.translateUid.toArray(new String[0]));
        }
        if (!o.translateGid.isEmpty()) {
            fs.put("translate.gid", o.translateGid.toArray(new String[0]));
        }
        fs.put("strategy", o.strategyName());
        o.migration.addTo(fs);
        out.put(PID_PASSTHROUGH, fs);
        Map<String, Object> t = new LinkedHashMap<>();
        if (o.transport.equals(Options.FUSE_DEV)) {
            t.put(
                    "mountpoint",
                    Paths.get(o.mountpoint).toAbsolutePath().normalize().toString());
            t.put("threads", o.fuseDevThreads());
            out.put(PID_FUSE_DEV, t);
        } else {
            t.put(
                    "socket.path",
                    o.socketPath == null
                            ? ""
                            : Paths.get(o.socketPath).toAbsolutePath().toString());
            t.put("fd", o.fd);
            t.put("socket.group", o.socketGroup);
            t.put("thread.pool.size", o.threadPoolSize);
            if (o.tag != null) {
                t.put("tag", o.tag);
            }
            t.put("confined", confined);
            out.put(PID_VHOST_USER, t);
        }
        if (o.controlSocket != null) {
            out.put(
                    PID_CONTROL,
                    new LinkedHashMap<>(Map.of(
                            "socket.path",
                            Paths.get(o.controlSocket)
                                    .toAbsolutePath()
                                    .normalize()
                                    .toString())));
        }
        return out;
    }

    /**
     * --syslog: the root logger's appenders are replaced by one writing to the syslog socket; if
     * there is none, logging stays on stderr with a warning (as virtiofsd).
     */
    static void useSyslog(Logger log) {
        org.slf4j.Logger root = LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        if (!(root instanceof ch.qos.logback.classic.Logger r)) {
            return;
        }
        SyslogAppender a = new SyslogAppender(
                System.getProperty(SyslogAppender.SOCKET_PROPERTY, SyslogAppender.DEFAULT_SOCKET),
                CommandLine.PROGRAM,
                ProcessHandle.current().pid());
        try {
            a.open();
        } catch (IOException e) {
            log.warn("can't enable syslog: {}", e.getMessage());
            return;
        }
        a.setContext(r.getLoggerContext());
        a.setName("SYSLOG");
        a.start();
        r.detachAndStopAllAppenders();
        r.addAppender(a);
    }

    /**
     * What of a profile the launcher itself (and bin/virtiofsd-java, through {@link SandboxPlan})
     * must know before the framework starts, each unless the command line gave it: the launcher
     * section's {@code transport}, {@code sandbox} and {@code seccomp}; the passthrough's
     * {@code strategy} (the capability set follows it); the control socket's {@code socket.path}
     * (the launcher waits for that socket before the sandbox closes).
     */
    static void applyLauncherSection(Options o, Profile p) throws UsageException {
        String where = "--profile " + p.name() + ": ";
        Object transport = p.launcher("transport");
        if (transport != null && !o.given.contains("--transport")) {
            if (!Options.VHOST_USER.equals(transport) && !Options.FUSE_DEV.equals(transport)) {
                throw CommandLine.invalid(
                        where + PID_LAUNCHER + " transport " + transport + ": must be vhost-user or fuse-dev");
            }
            o.transport = (String) transport;
        }
        Object sandbox = p.launcher("sandbox");
        if (sandbox != null && !o.given.contains("--sandbox")) {
            if (!SandboxOptions.SANDBOX.contains(sandbox)) {
                throw CommandLine.invalid(
                        where + PID_LAUNCHER + " sandbox " + sandbox + ": must be one of chroot|namespace|none");
            }
            o.sandbox = (String) sandbox;
        }
        Object seccomp = p.launcher("seccomp");
        if (seccomp != null && !o.given.contains("--seccomp")) {
            if (!SandboxOptions.SECCOMP.contains(seccomp)) {
                throw CommandLine.invalid(
                        where + PID_LAUNCHER + " seccomp " + seccomp + ": must be one of kill|log|none|trap");
            }
            o.seccomp = (String) seccomp;
        }
        Map<String, java.util.Hashtable<String, Object>> pids = p.configurations();
        java.util.Hashtable<String, Object> passthrough = pids.get(PID_PASSTHROUGH);
        Object strategy = passthrough == null ? null : passthrough.get("strategy");
        if (strategy != null) {
            if (!(strategy instanceof String name) || !CommandLine.isStrategyName(name)) {
                throw CommandLine.invalid(where + PID_PASSTHROUGH + " strategy " + strategy
                        + ": a strategy name is letters, digits, '.', '_' and '-'");
            }
            o.profileStrategy = name;
        }
        java.util.Hashtable<String, Object> control = pids.get(PID_CONTROL);
        Object socket = control == null ? null : control.get("socket.path");
        if (socket != null && o.controlSocket == null) {
            if (!(socket instanceof String path) || path.isEmpty()) {
                throw CommandLine.invalid(where + PID_CONTROL + " socket.path must be a path");
            }
            o.controlSocket = path;
        }
    }

    /**
     * What the launcher writes to ConfigAdmin: the profile's configurations (every PID, a
     * third-party bundle's too) with the command line on top, key by key (a profile key is replaced
     * when an option that sets it was given, see {@link #KEY_OPTIONS}), plus PID {@value
     * #PID_LAUNCHER} saying which profile and PIDs these are (the control socket's {@code profile}).
     */
    public static Map<String, Map<String, Object>> effectiveConfigurations(Options o) {
        return effectiveConfigurations(o, false);
    }

    /** As {@link #effectiveConfigurations(Options)}, for a daemon that {@code confined} or not by its sandbox. */
    public static Map<String, Map<String, Object>> effectiveConfigurations(Options o, boolean confined) {
        Map<String, Map<String, Object>> cmd = configurations(o, confined);
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        Profile p = o.loadedProfile;
        if (p != null) {
            Map<String, Map<String, Object>> defaults = configurations(requiredOnly(o), confined);
            for (Map.Entry<String, java.util.Hashtable<String, Object>> e :
                    p.configurations().entrySet()) {
                out.put(e.getKey(), new LinkedHashMap<>(e.getValue()));
            }
            for (Map.Entry<String, Map<String, Object>> e : cmd.entrySet()) {
                Map<String, Object> target = out.computeIfAbsent(e.getKey(), k -> new LinkedHashMap<>());
                Map<String, Object> def = defaults.getOrDefault(e.getKey(), Map.of());
                for (Map.Entry<String, Object> kv : e.getValue().entrySet()) {
                    List<String> opts = KEY_OPTIONS.get(e.getKey() + "/" + kv.getKey());
                    boolean given = opts != null
                            ? opts.stream().anyMatch(o.given::contains)
                            : !java.util.Objects.equals(kv.getValue(), def.get(kv.getKey()));
                    if (given || !target.containsKey(kv.getKey())) {
                        target.put(kv.getKey(), kv.getValue());
                    }
                }
            }
        } else {
            out.putAll(cmd);
        }
        Map<String, Object> launcher = new LinkedHashMap<>();
        launcher.put("profile", p == null ? "" : p.name());
        launcher.put("profile.source", p == null ? "" : p.source().toString());
        launcher.put("transport", o.transport);
        launcher.put("pids", out.keySet().toArray(new String[0]));
        out.put(PID_LAUNCHER, launcher);
        return out;
    }

    /** The file key of {@code path}, or null when there is no such file (or no path). */
    private static Object fileKey(String path) {
        if (path == null) {
            return null;
        }
        try {
            return Files.readAttributes(Paths.get(path), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                    .fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    /** Waits until the control bundle has put a new socket at {@code path} (nothing to wait for without one). */
    private static void awaitControlSocket(String path, Object before, long timeoutSeconds)
            throws FelixLauncher.LaunchException {
        if (path == null) {
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (true) {
            Object now = fileKey(path);
            if (now != null && !now.equals(before) && Files.exists(Paths.get(path), LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new FelixLauncher.LaunchException("control socket " + path + " not bound after " + timeoutSeconds
                        + " s (is the control bundle installed and its directory writable?)");
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new FelixLauncher.LaunchException("interrupted waiting for the control socket " + path);
            }
        }
    }

    /** The options a command line cannot do without, nothing else: what "not given" looks like. */
    private static Options requiredOnly(Options o) {
        Options d = new Options();
        d.sharedDir = o.sharedDir;
        d.socketPath = o.socketPath;
        d.fd = o.fd;
        d.transport = o.transport;
        d.mountpoint = o.mountpoint;
        d.controlSocket = o.controlSocket;
        return d;
    }

    static Path home() {
        String h = System.getProperty(HOME_PROPERTY);
        return h == null || h.isEmpty() ? null : Paths.get(h).toAbsolutePath().normalize();
    }

    /** logback from home/conf/logback.xml (else the launcher's stderr default), root level from --log-level. */
    static void configureLogging(Path home, String level) {
        if (System.getProperty("logback.configurationFile") == null) {
            Path conf = home == null ? null : home.resolve("conf/logback.xml");
            if (conf != null && Files.isRegularFile(conf)) {
                // The shipped file is set up in code (same result, no XML parsing); an edited one is read.
                if (StockLogging.isStock(conf)) {
                    System.setProperty(StockLogging.PATTERN_PROPERTY, StockLogging.STOCK_PATTERN);
                } else {
                    System.setProperty("logback.configurationFile", conf.toString());
                }
            } else {
                System.setProperty(StockLogging.PATTERN_PROPERTY, StockLogging.DEFAULT_PATTERN);
            }
        }
        org.slf4j.Logger root = LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        if (root instanceof ch.qos.logback.classic.Logger logback) {
            logback.setLevel(ch.qos.logback.classic.Level.toLevel(level, ch.qos.logback.classic.Level.INFO));
        }
    }

    static String version() {
        try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
