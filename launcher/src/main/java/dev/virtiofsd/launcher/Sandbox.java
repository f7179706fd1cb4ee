package dev.virtiofsd.launcher;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import org.osgi.framework.Bundle;

/**
 * The daemon's part of its sandbox (virtiofsd's {@code --sandbox}, {@code --seccomp},
 * {@code --modcaps}, {@code --rlimit-nofile}). bin/virtiofsd-java did what only a single-threaded
 * process can: joined new mount, net and ipc namespaces, cut the capability bounding set, set
 * no_new_privs and RLIMIT_NOFILE. This class checks that the process is what the command line asks
 * for, then, once every bundle is started and the transport listens, closes the sandbox through
 * the native bundle: the shared directory becomes the root (pivot_root or chroot), and the seccomp
 * filter goes onto every thread.
 */
final class Sandbox {
    /** What bin/virtiofsd-java prepared: namespace, chroot or none. Absent: the script did not run. */
    static final String SETUP_PROPERTY = "virtiofsd.sandbox.setup";
    /** "set" when the script, running as root, cut the capability bounding set. */
    static final String CAPABILITIES_PROPERTY = "virtiofsd.sandbox.capabilities";
    /** Comma-separated fds the script left open for the JVM (namespace files): closed with the sandbox. */
    static final String INHERITED_FDS_PROPERTY = "virtiofsd.sandbox.fds";

    private static final String NATIVE_BUNDLE = "dev.virtiofsd.native";
    private static final String CONFINEMENT = "dev.virtiofsd.linux.sandbox.Confinement";
    private static final String SECCOMP = "dev.virtiofsd.linux.sandbox.Seccomp";
    private static final String SECCOMP_ACTION = "dev.virtiofsd.linux.sandbox.Seccomp$Action";
    private static final String UNIX_SOCKET = "dev.virtiofsd.linux.UnixSocket";

    private final Options options;
    private final Path sharedDir;
    private final long capabilities;
    private final String openFiles;
    private final int[] inheritedFds;
    private byte[] seccompProgram;

    private Sandbox(Options options, Path sharedDir, long capabilities, String openFiles, int[] inheritedFds) {
        this.options = options;
        this.sharedDir = sharedDir;
        this.capabilities = capabilities;
        this.openFiles = openFiles;
        this.inheritedFds = inheritedFds;
    }

    /**
     * Before the framework starts: the launcher script must have prepared the sandbox the command
     * line asks for, and as root the capabilities must be exactly {@link Capabilities#expected}.
     */
    static Sandbox check(Options o) throws FelixLauncher.LaunchException {
        String setup = System.getProperty(SETUP_PROPERTY);
        if (setup == null) {
            if (!o.sandbox.equals(SandboxOptions.NONE)) {
                throw new FelixLauncher.LaunchException("--sandbox " + o.sandbox
                        + " is prepared by bin/virtiofsd-java before Java starts: start the daemon with it,"
                        + " or pass --sandbox none");
            }
        } else if (!setup.equals(o.sandbox)) {
            throw new FelixLauncher.LaunchException("bin/virtiofsd-java prepared --sandbox " + setup
                    + " but the command line asks for --sandbox " + o.sandbox);
        }
        Path shared;
        try {
            shared = Paths.get(o.sharedDir).toRealPath();
        } catch (IOException e) {
            throw new FelixLauncher.LaunchException("--shared-dir " + o.sharedDir + ": " + e.getMessage());
        }
        List<String> status = readLines(Paths.get("/proc/self/status"));
        long effective = hex(field(status, "CapEff:", 0));
        // As root the script cut the capabilities to the expected set; unprivileged they are the
        // user namespace's (all of them, and worth nothing outside it).
        if ("set".equals(System.getProperty(CAPABILITIES_PROPERTY))) {
            long expected = Capabilities.expected(o);
            if (effective != expected) {
                throw new FelixLauncher.LaunchException("capabilities are " + Capabilities.names(effective)
                        + ", expected " + Capabilities.names(expected)
                        + " (bin/virtiofsd-java sets them; is setpriv from util-linux missing?)");
            }
        }
        if (setup != null) {
            // --uid-map/--gid-map: the user namespace the script joined maps exactly these ranges
            checkIdMap(o.uidMap, "/proc/self/uid_map", "--uid-map");
            checkIdMap(o.gidMap, "/proc/self/gid_map", "--gid-map");
        }
        String limits = "?";
        for (String line : readLines(Paths.get("/proc/self/limits"))) {
            if (line.startsWith("Max open files")) {
                String[] f = line.substring("Max open files".length()).trim().split("\\s+", -1);
                limits = f[0] + (f[0].equals(f[1]) ? "" : " (hard " + f[1] + ")");
                if (o.rlimitNofile > 0 && !f[0].equals(Long.toString(o.rlimitNofile))) {
                    throw new FelixLauncher.LaunchException("RLIMIT_NOFILE is " + f[0] + ", --rlimit-nofile asks for "
                            + o.rlimitNofile + " (bin/virtiofsd-java sets it)");
                }
            }
        }
        List<Integer> fds = new ArrayList<>();
        String inherited = System.getProperty(INHERITED_FDS_PROPERTY, "");
        for (String fd : inherited.split(",", -1)) {
            if (!fd.isBlank()) {
                fds.add(Integer.parseInt(fd.trim()));
            }
        }
        return new Sandbox(
                o,
                shared,
                effective,
                limits,
                fds.stream().mapToInt(Integer::intValue).toArray());
    }

    private static void checkIdMap(List<long[]> ranges, String file, String option)
            throws FelixLauncher.LaunchException {
        if (ranges.isEmpty()) {
            return;
        }
        java.util.Set<String> expected = new java.util.TreeSet<>();
        for (long[] r : ranges) {
            expected.add(r[0] + " " + r[1] + " " + r[2]);
        }
        java.util.Set<String> actual = new java.util.TreeSet<>();
        for (String line : readLines(Paths.get(file))) {
            if (!line.isBlank()) {
                actual.add(String.join(" ", line.trim().split("\\s+", -1)));
            }
        }
        if (!expected.equals(actual)) {
            throw new FelixLauncher.LaunchException("the user namespace maps " + actual + " (" + file + "), " + option
                    + " asks for " + expected + " (bin/virtiofsd-java sets them with newuidmap/newgidmap)");
        }
    }

    /** Whether the daemon's root becomes the shared directory (namespace or chroot). */
    boolean confines() {
        return !options.sandbox.equals(SandboxOptions.NONE);
    }

    /** One line for the log: what the sandbox is made of. */
    String describe() {
        String what;
        switch (options.sandbox) {
            case SandboxOptions.NAMESPACE:
                what = "root " + sharedDir + " in new mount, net and ipc namespaces"
                        + (options.uidMap.isEmpty() && options.gidMap.isEmpty()
                                ? ""
                                : " (user namespace of --uid-map/--gid-map)");
                break;
            case SandboxOptions.CHROOT:
                what = "chroot " + sharedDir;
                break;
            default:
                what = "none";
                break;
        }
        return "sandbox " + what + "; seccomp " + options.seccomp + "; capabilities " + Capabilities.names(capabilities)
                + "; RLIMIT_NOFILE " + openFiles;
    }

    /**
     * After the bundles started, before the shared directory is opened: in the namespace sandbox
     * the shared directory becomes a mount of its own, so the fds opened through it end at the
     * future root.
     */
    void prepare(FelixLauncher launcher) throws FelixLauncher.LaunchException {
        if (options.sandbox.equals(SandboxOptions.NAMESPACE)) {
            call(launcher, CONFINEMENT, "prepareNamespace", sharedDir.toString());
        }
        if (!options.seccomp.equals(SandboxOptions.NONE)) {
            // Compiled now, installed when the sandbox closes: its classes load (and go into the
            // class-data archive) off the path between the transport's ready and its first accept.
            try {
                Bundle b = nativeBundle(launcher);
                Class<?> actionType = b.loadClass(SECCOMP_ACTION);
                Object action = actionType.getMethod("parse", String.class).invoke(null, options.seccomp);
                seccompProgram = (byte[]) b.loadClass(SECCOMP)
                        .getMethod("compile", actionType, boolean.class)
                        .invoke(null, action, confines());
            } catch (InvocationTargetException e) {
                throw failed("seccomp " + options.seccomp, e.getCause(), "--seccomp none");
            } catch (ReflectiveOperationException e) {
                throw failed("seccomp " + options.seccomp, e, "--seccomp none");
            }
        }
    }

    /**
     * Closes the sandbox: enter it, close the fds the script left, refuse directory fds that lead
     * out of it, install the seccomp filter. Nothing from outside has been served yet.
     */
    void close(FelixLauncher launcher) throws FelixLauncher.LaunchException {
        connectSyslog(launcher);
        switch (options.sandbox) {
            case SandboxOptions.NAMESPACE:
                call(launcher, CONFINEMENT, "enterNamespace", sharedDir.toString());
                break;
            case SandboxOptions.CHROOT:
                call(launcher, CONFINEMENT, "enterChroot", sharedDir.toString());
                break;
            default:
                break;
        }
        StartupTrace.mark("sandbox entered");
        if (inheritedFds.length > 0) {
            call(launcher, CONFINEMENT, "closeFds", (Object) inheritedFds);
        }
        if (confines()) {
            List<?> escaping = (List<?>) call(launcher, CONFINEMENT, "escapingDirectoryFds");
            if (!escaping.isEmpty()) {
                throw new FelixLauncher.LaunchException(
                        "cannot close the sandbox: " + escaping.get(0) + " leads out of the shared directory"
                                + " (a bundle keeps a directory open; --sandbox none runs without the sandbox)");
            }
        }
        StartupTrace.mark("fds checked");
        if (seccompProgram != null) {
            try {
                nativeBundle(launcher)
                        .loadClass(SECCOMP)
                        .getMethod("install", byte[].class)
                        .invoke(null, seccompProgram);
            } catch (InvocationTargetException e) {
                throw failed("seccomp " + options.seccomp, e.getCause(), "--seccomp none");
            } catch (ReflectiveOperationException e) {
                throw failed("seccomp " + options.seccomp, e, "--seccomp none");
            }
        }
    }

    /**
     * --syslog sends each event to the socket's path (sendto), which neither the seccomp filter nor
     * the sandbox leave: connect a datagram socket to it now and write to that.
     */
    private void connectSyslog(FelixLauncher launcher) throws FelixLauncher.LaunchException {
        if (options.seccomp.equals(SandboxOptions.NONE) && !confines()) {
            return;
        }
        org.slf4j.Logger root = org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        if (root instanceof ch.qos.logback.classic.Logger r
                && r.getAppender("SYSLOG") instanceof SyslogAppender syslog) {
            int fd = (Integer) call(launcher, UNIX_SOCKET, "connectDatagram", syslog.path());
            syslog.useConnected(fd);
        }
    }

    private Object call(FelixLauncher launcher, String className, String method, Object... args)
            throws FelixLauncher.LaunchException {
        try {
            Class<?> c = nativeBundle(launcher).loadClass(className);
            for (Method m : c.getMethods()) {
                if (m.getName().equals(method) && m.getParameterCount() == args.length) {
                    return m.invoke(null, args);
                }
            }
            throw new NoSuchMethodException(className + "." + method);
        } catch (InvocationTargetException e) {
            throw failed("--sandbox " + options.sandbox, e.getCause(), "--sandbox none");
        } catch (ReflectiveOperationException e) {
            throw failed("--sandbox " + options.sandbox, e, "--sandbox none");
        }
    }

    private static Bundle nativeBundle(FelixLauncher launcher) throws FelixLauncher.LaunchException {
        Bundle b = launcher.bundle(NATIVE_BUNDLE);
        if (b == null) {
            throw new FelixLauncher.LaunchException(
                    "bundle " + NATIVE_BUNDLE + " is not installed (missing from bundles/?): no sandbox without it");
        }
        return b;
    }

    private static FelixLauncher.LaunchException failed(String what, Throwable cause, String wayOut) {
        return new FelixLauncher.LaunchException("cannot set up " + what + ": "
                + FelixLauncher.oneLine(String.valueOf(cause.getMessage())) + " (" + wayOut
                + " runs without it)");
    }

    private static List<String> readLines(Path p) throws FelixLauncher.LaunchException {
        try {
            return Files.readAllLines(p);
        } catch (IOException e) {
            throw new FelixLauncher.LaunchException("cannot read " + p + ": " + e.getMessage());
        }
    }

    /** Field {@code index} after the label {@code key} of a /proc status line. */
    private static String field(List<String> lines, String key, int index) throws FelixLauncher.LaunchException {
        for (String line : lines) {
            if (line.startsWith(key)) {
                return line.substring(key.length()).trim().split("\\s+", -1)[index];
            }
        }
        throw new FelixLauncher.LaunchException("no " + key + " in /proc/self/status");
    }

    private static long hex(String s) {
        return Long.parseUnsignedLong(s, 16);
    }
}
