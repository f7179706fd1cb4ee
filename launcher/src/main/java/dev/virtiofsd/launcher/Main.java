package dev.virtiofsd.launcher;

import dev.virtiofsd.api.config.ControlConfiguration;
import dev.virtiofsd.api.config.FuseDevConfiguration;
import dev.virtiofsd.api.config.LauncherConfiguration;
import dev.virtiofsd.api.config.PassthroughConfiguration;
import dev.virtiofsd.api.config.VhostUserConfiguration;
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

    // The PIDs, keys and defaults are the bundles' configuration contract (dev.virtiofsd.api.config).
    public static final String PID_PASSTHROUGH = PassthroughConfiguration.PID;
    public static final String PID_VHOST_USER = VhostUserConfiguration.PID;
    public static final String PID_FUSE_DEV = FuseDevConfiguration.PID;
    public static final String PID_CONTROL = ControlConfiguration.PID;
    public static final String PID_LAUNCHER = LauncherConfiguration.PID;

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
            LeftoverSocket.removeIfOurs(
                    o.socketPath, sandbox.confines(), ProcessHandle.current().pid());
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
        return ComponentConfigurations.configurations(o, false);
    }

    /** See {@link ComponentConfigurations#configurations(Options, boolean)}. */
    public static Map<String, Map<String, Object>> configurations(Options o, boolean confined) {
        return ComponentConfigurations.configurations(o, confined);
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

    /** See {@link ComponentConfigurations#applyLauncherSection}. */
    static void applyLauncherSection(Options o, Profile p) throws UsageException {
        ComponentConfigurations.applyLauncherSection(o, p);
    }

    /** See {@link ComponentConfigurations#effectiveConfigurations(Options, boolean)}. */
    public static Map<String, Map<String, Object>> effectiveConfigurations(Options o) {
        return ComponentConfigurations.effectiveConfigurations(o, false);
    }

    /** See {@link ComponentConfigurations#effectiveConfigurations(Options, boolean)}. */
    public static Map<String, Map<String, Object>> effectiveConfigurations(Options o, boolean confined) {
        return ComponentConfigurations.effectiveConfigurations(o, confined);
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
