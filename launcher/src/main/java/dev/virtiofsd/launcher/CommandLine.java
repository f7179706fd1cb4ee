package dev.virtiofsd.launcher;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The command line, compatible with Rust virtiofsd 1.13 for every option we support: both
 * {@code --opt value} and {@code --opt=value}. Options of virtiofsd we do not implement are known by
 * name and rejected with a message saying so, never silently ignored.
 */
public final class CommandLine {
    public static final String PROGRAM = "virtiofsd-java";

    private static final Set<String> CACHE = Set.of("auto", "always", "never", "metadata");
    private static final Set<String> INODE_FILE_HANDLES = Set.of("never", "prefer", "fallback", "mandatory");
    private static final Set<String> LOG_LEVELS = Set.of("error", "warn", "info", "debug", "trace", "off");
    private static final Set<String> TRANSPORTS = Set.of(Options.VHOST_USER, Options.FUSE_DEV);
    /** A strategy name goes into an LDAP filter: keep it to characters that need no escaping. */
    private static final Pattern STRATEGY_NAME = Pattern.compile("[A-Za-z0-9._-]+");

    private enum Arity {
        FLAG,
        VALUE
    }

    private interface Setter {
        void set(Options o, String option, String value) throws UsageException;
    }

    private static final class Spec {
        final String name;
        final Arity arity;
        final String valueName;
        final String help;
        final Setter setter;

        Spec(String name, Arity arity, String valueName, String help, Setter setter) {
            this.name = name;
            this.arity = arity;
            this.valueName = valueName;
            this.help = help;
            this.setter = setter;
        }
    }

    private static final Map<String, Spec> SUPPORTED = new LinkedHashMap<>();
    private static final Map<String, Spec> OWN = new LinkedHashMap<>();
    private static final Map<String, Spec> COMPAT = new LinkedHashMap<>();
    /** virtiofsd options we know but do not implement, with their arity (so help can show them). */
    private static final Map<String, Arity> UNSUPPORTED = new LinkedHashMap<>();

    private static void supported(String name, Arity arity, String valueName, String help, Setter setter) {
        SUPPORTED.put(name, new Spec(name, arity, valueName, help, setter));
    }

    private static void own(String name, Arity arity, String valueName, String help, Setter setter) {
        OWN.put(name, new Spec(name, arity, valueName, help, setter));
    }

    private static void compat(String name, Arity arity, String valueName, String help, Setter setter) {
        COMPAT.put(name, new Spec(name, arity, valueName, help, setter));
    }

    static {
        supported(
                "--shared-dir",
                Arity.VALUE,
                "SHARED_DIR",
                "Shared directory path",
                (o, n, v) -> o.sharedDir = nonEmpty(n, v));
        supported(
                "--socket-path",
                Arity.VALUE,
                "SOCKET_PATH",
                "vhost-user socket path",
                (o, n, v) -> o.socketPath = nonEmpty(n, v));
        supported("--socket", Arity.VALUE, "SOCKET", "vhost-user socket path [deprecated]", (o, n, v) -> {
            o.socketPath = nonEmpty(n, v);
            o.deprecatedSocket = true;
        });
        supported(
                "--fd",
                Arity.VALUE,
                "FD",
                "File descriptor for the listening (not yet connected) socket",
                (o, n, v) -> o.fd = nonNegativeInt(n, v));
        supported(
                "--socket-group",
                Arity.VALUE,
                "SOCKET_GROUP",
                "Name of group for the vhost-user socket",
                (o, n, v) -> o.socketGroup = nonEmpty(n, v));
        supported(
                "--thread-pool-size",
                Arity.VALUE,
                "THREAD_POOL_SIZE",
                "Maximum thread pool size. A value of \"0\" disables the pool [default: 0]",
                (o, n, v) -> o.threadPoolSize = nonNegativeInt(n, v));
        supported(
                "--inode-file-handles",
                Arity.VALUE,
                "MODE",
                "When to use file handles to reference inodes instead of O_PATH file descriptors"
                        + " (never, prefer, mandatory) [default: never]",
                (o, n, v) -> {
                    String mode = oneOf(n, v, INODE_FILE_HANDLES);
                    if (mode.equals("fallback")) {
                        o.warnings.add("Use of deprecated value 'fallback' for '--inode-file-handles':"
                                + " Please use 'prefer' instead");
                        mode = "prefer";
                    }
                    o.inodeFileHandles = mode;
                });
        supported(
                "--cache",
                Arity.VALUE,
                "CACHE",
                "The caching policy the file system should use (auto, always, never, metadata) [default: auto]",
                (o, n, v) -> o.cache = oneOf(n, v, CACHE));
        supported("--xattr", Arity.FLAG, null, "Enable support for extended attributes", (o, n, v) -> o.xattr = true);
        supported(
                "--readonly",
                Arity.FLAG,
                null,
                "Prevent the guest from making modifications to the filesystem",
                (o, n, v) -> o.readonly = true);
        supported(
                "--announce-submounts",
                Arity.FLAG,
                null,
                "Tell the guest which directories are mount points [default]",
                (o, n, v) -> o.announceSubmounts = true);
        supported(
                "--no-announce-submounts",
                Arity.FLAG,
                null,
                "Do not tell the guest which directories are mount points",
                (o, n, v) -> o.announceSubmounts = false);
        supported(
                "--log-level",
                Arity.VALUE,
                "LOG_LEVEL",
                "Log level (error, warn, info, debug, trace, off) [default: info]",
                (o, n, v) -> o.logLevel = oneOf(n, v, LOG_LEVELS));
        supported(
                "--print-capabilities",
                Arity.FLAG,
                null,
                "Print vhost-user.json backend program capabilities and exit",
                (o, n, v) -> o.printCapabilities = true);
        supported("--help", Arity.FLAG, null, "Print help", (o, n, v) -> o.help = true);
        supported("--version", Arity.FLAG, null, "Print version", (o, n, v) -> o.version = true);

        own(
                "--transport",
                Arity.VALUE,
                "TRANSPORT",
                "How the guest's FUSE requests arrive: vhost-user (a vhost-user-fs socket for QEMU)"
                        + " or fuse-dev (mount on this host through /dev/fuse) [default: vhost-user]",
                (o, n, v) -> o.transport = oneOf(n, v, TRANSPORTS));
        own(
                "--mountpoint",
                Arity.VALUE,
                "DIR",
                "Where --transport=fuse-dev mounts the shared directory",
                (o, n, v) -> o.mountpoint = nonEmpty(n, v));
        own(
                "--bundles",
                Arity.VALUE,
                "DIR",
                "Also install and start every bundle (*.jar) of DIR, e.g. a third-party strategy; repeatable",
                (o, n, v) -> o.bundleDirs.add(Paths.get(nonEmpty(n, v))));
        own(
                "--strategy",
                Arity.VALUE,
                "NAME",
                "Inode-identity strategy by its inode.identity service property (fd, handle-preferred,"
                        + " handle-only, or a third-party one); overrides --inode-file-handles",
                (o, n, v) -> {
                    if (!STRATEGY_NAME.matcher(v).matches()) {
                        throw usage(n + " " + v + ": a strategy name is letters, digits, '.', '_' and '-'");
                    }
                    o.strategy = v;
                });

        // Accepted because they ask for what we do anyway.
        compat(
                "--sandbox",
                Arity.VALUE,
                "SANDBOX",
                "Sandbox mechanism; only \"none\" is supported (the daemon does not sandbox itself)",
                (o, n, v) -> onlyValue(n, v, "none"));
        // Live migration (MigrationArgs, docs/migration.md).
        supported(
                "--migration-mode",
                Arity.VALUE,
                "MIGRATION_MODE",
                MigrationArgs.help("--migration-mode"),
                (o, n, v) -> o.migration.mode = oneOf(n, v, MigrationArgs.MODES));
        supported(
                "--migration-on-error",
                Arity.VALUE,
                "MIGRATION_ON_ERROR",
                MigrationArgs.help("--migration-on-error"),
                (o, n, v) -> o.migration.onError = oneOf(n, v, MigrationArgs.ON_ERROR));
        supported(
                "--migration-verify-handles",
                Arity.FLAG,
                null,
                MigrationArgs.help("--migration-verify-handles"),
                (o, n, v) -> o.migration.verifyHandles = true);
        supported(
                "--migration-confirm-paths",
                Arity.FLAG,
                null,
                MigrationArgs.help("--migration-confirm-paths"),
                (o, n, v) -> o.migration.confirmPaths = true);
        compat(
                "--seccomp",
                Arity.VALUE,
                "SECCOMP",
                "Action on a not allowed syscall; only \"none\" is supported (no seccomp filter)",
                (o, n, v) -> onlyValue(n, v, "none"));
        compat("--no-killpriv-v2", Arity.FLAG, null, "Disable KILLPRIV V2 support [default]", (o, n, v) -> {});
        compat("-f", Arity.FLAG, null, "Compatibility option that has no effect [deprecated]", (o, n, v) -> {});
        compat("-d", Arity.FLAG, null, "Set log level to \"debug\" [deprecated]", (o, n, v) -> o.logLevel = "debug");
        compat("-h", Arity.FLAG, null, "Print help", (o, n, v) -> o.help = true);
        compat("-V", Arity.FLAG, null, "Print version", (o, n, v) -> o.version = true);

        for (String flag : new String[] {
            "--posix-acl",
            "--allow-mmap",
            "--no-readdirplus",
            "--writeback",
            "--allow-direct-io",
            "--syslog",
            "--killpriv-v2",
            "--security-label",
            "--preserve-noatime"
        }) {
            UNSUPPORTED.put(flag, Arity.FLAG);
        }
        for (String valued : new String[] {
            "--tag",
            "--xattrmap",
            "--modcaps",
            "--rlimit-nofile",
            "--uid-map",
            "--gid-map",
            "--translate-uid",
            "--translate-gid",
            "-o"
        }) {
            UNSUPPORTED.put(valued, Arity.VALUE);
        }
    }

    private CommandLine() {}

    /**
     * Parses {@code args}. Stops at the first problem with a {@link UsageException} whose message
     * is one line naming the option. --help and --version end parsing at once.
     */
    public static Options parse(String... args) throws UsageException {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String name = arg;
            String value = null;
            if (arg.startsWith("--")) {
                int eq = arg.indexOf('=');
                if (eq > 0) {
                    name = arg.substring(0, eq);
                    value = arg.substring(eq + 1);
                }
            } else if (arg.startsWith("-") && arg.length() > 2) {
                // -oVALUE, the attached form of short options with a value.
                name = arg.substring(0, 2);
                value = arg.substring(2);
            } else if (!arg.startsWith("-") || arg.equals("-")) {
                throw usage("unexpected argument '" + arg + "' (options start with --; see --help)");
            }
            Spec spec = spec(name);
            if (spec == null) {
                if (UNSUPPORTED.containsKey(name)) {
                    throw usage(name + " is not supported by " + PROGRAM);
                }
                throw usage("unknown option " + name + " (see --help)");
            }
            if (spec.arity == Arity.FLAG) {
                if (value != null) {
                    throw usage(name + " takes no value, got '" + value + "'");
                }
            } else if (value == null) {
                if (i + 1 >= args.length) {
                    throw usage(name + " needs a value " + spec.valueName);
                }
                value = args[++i];
            }
            spec.setter.set(o, name, value);
            if (o.help || o.version) {
                return o;
            }
        }
        if (o.printCapabilities) {
            return o;
        }
        checkCombination(o);
        return o;
    }

    private static Spec spec(String name) {
        Spec s = SUPPORTED.get(name);
        if (s == null) {
            s = OWN.get(name);
        }
        if (s == null) {
            s = COMPAT.get(name);
        }
        return s;
    }

    private static void checkCombination(Options o) throws UsageException {
        if (o.sharedDir == null) {
            throw usage("--shared-dir is required");
        }
        if (o.transport.equals(Options.VHOST_USER)) {
            if (o.fd >= 0 && o.socketPath != null) {
                throw usage("--fd cannot be used with " + (o.deprecatedSocket ? "--socket" : "--socket-path"));
            }
            if (o.fd < 0 && o.socketPath == null) {
                throw usage("--socket-path or --fd is required");
            }
            if (o.fd >= 0 && !o.socketGroup.isEmpty()) {
                throw usage("--socket-group cannot be used with --fd");
            }
            if (o.mountpoint != null) {
                throw usage("--mountpoint needs --transport=fuse-dev");
            }
        } else {
            if (o.mountpoint == null) {
                throw usage("--transport=fuse-dev needs --mountpoint DIR");
            }
            if (o.socketPath != null || o.fd >= 0 || !o.socketGroup.isEmpty()) {
                throw usage("--socket-path, --fd and --socket-group need --transport=vhost-user");
            }
        }
    }

    /**
     * Checks what the command line names on this machine, before the framework boots: the shared
     * directory, the socket's directory, the mountpoint, the bundle directories, the fd.
     */
    public static void validate(Options o) throws UsageException {
        Path shared = Paths.get(o.sharedDir);
        if (!Files.exists(shared)) {
            throw invalid("--shared-dir " + o.sharedDir + ": no such directory");
        }
        if (!Files.isDirectory(shared)) {
            throw invalid("--shared-dir " + o.sharedDir + ": not a directory");
        }
        if (o.socketPath != null) {
            String option = o.deprecatedSocket ? "--socket" : "--socket-path";
            Path socket = Paths.get(o.socketPath).toAbsolutePath();
            Path dir = socket.getParent();
            if (dir == null || !Files.isDirectory(dir)) {
                throw invalid(option + " " + o.socketPath + ": directory " + dir + " does not exist");
            }
            if (Files.isDirectory(socket)) {
                throw invalid(option + " " + o.socketPath + ": is a directory");
            }
        }
        if (o.fd >= 0 && !Files.exists(Paths.get("/proc/self/fd/" + o.fd))) {
            throw invalid("--fd " + o.fd + ": not an open file descriptor");
        }
        if (o.mountpoint != null && !Files.isDirectory(Paths.get(o.mountpoint))) {
            throw invalid("--mountpoint " + o.mountpoint + ": no such directory");
        }
        for (Path dir : o.bundleDirs) {
            if (!Files.isDirectory(dir)) {
                throw invalid("--bundles " + dir + ": no such directory");
            }
        }
    }

    /** The --help text: every option, ours and the virtiofsd ones we reject. */
    public static String help() {
        StringBuilder b = new StringBuilder();
        b.append("Launch a virtio-fs backend (vhost-user-fs device daemon), compatible with virtiofsd.\n\n");
        b.append("Usage: ")
                .append(PROGRAM)
                .append(" --shared-dir <SHARED_DIR> --socket-path <SOCKET_PATH> [OPTIONS]\n");
        b.append("       ")
                .append(PROGRAM)
                .append(" --transport=fuse-dev --shared-dir <SHARED_DIR> --mountpoint <DIR> [OPTIONS]\n\n");
        b.append("Options (as in virtiofsd):\n");
        appendSpecs(b, SUPPORTED);
        b.append("\nOptions of ").append(PROGRAM).append(":\n");
        appendSpecs(b, OWN);
        b.append("\nAccepted for compatibility:\n");
        appendSpecs(b, COMPAT);
        b.append("\nvirtiofsd options not supported (rejected with an error):\n ");
        int col = 1;
        for (Map.Entry<String, Arity> e : UNSUPPORTED.entrySet()) {
            String s = " " + e.getKey() + (e.getValue() == Arity.VALUE ? " <VALUE>" : "");
            if (col + s.length() > 100) {
                b.append("\n ");
                col = 1;
            }
            b.append(s);
            col += s.length();
        }
        b.append("\n\nBoth --option VALUE and --option=VALUE are accepted.\n");
        return b.toString();
    }

    private static void appendSpecs(StringBuilder b, Map<String, Spec> specs) {
        for (Spec s : specs.values()) {
            String left = "  " + s.name + (s.arity == Arity.VALUE ? " <" + s.valueName + ">" : "");
            b.append(left);
            if (left.length() < 38) {
                b.append(" ".repeat(38 - left.length()));
            } else {
                b.append("\n").append(" ".repeat(38));
            }
            b.append(s.help).append('\n');
        }
    }

    /** Every option name --help shows (for tests). */
    public static List<String> optionNames() {
        List<String> names = new ArrayList<>(SUPPORTED.keySet());
        names.addAll(OWN.keySet());
        names.addAll(COMPAT.keySet());
        names.addAll(UNSUPPORTED.keySet());
        return names;
    }

    /** What libvirt reads (vhost-user.rst "fs" type); "separate-options": we take --xattr etc., not -o. */
    public static String capabilities() {
        return "{\n  \"type\": \"fs\",\n  \"features\": [\n    \"migrate-precopy\",\n    \"separate-options\"\n  ]\n}\n";
    }

    private static String nonEmpty(String option, String value) throws UsageException {
        if (value.isEmpty()) {
            throw usage(option + " needs a non-empty value");
        }
        return value;
    }

    private static int nonNegativeInt(String option, String value) throws UsageException {
        try {
            int v = Integer.parseInt(value);
            if (v >= 0) {
                return v;
            }
        } catch (NumberFormatException e) {
            // fall through to the message
        }
        throw usage(option + " " + value + ": not a non-negative integer");
    }

    private static String oneOf(String option, String value, Set<String> allowed) throws UsageException {
        if (!allowed.contains(value)) {
            throw usage(option + " " + value + ": must be one of " + String.join("|", sorted(allowed)));
        }
        return value;
    }

    private static List<String> sorted(Set<String> set) {
        List<String> l = new ArrayList<>(set);
        l.sort(null);
        return l;
    }

    private static void onlyValue(String option, String value, String only) throws UsageException {
        if (!value.equals(only)) {
            throw usage(
                    option + "=" + value + " is not supported by " + PROGRAM + " (only " + option + "=" + only + ")");
        }
    }

    static UsageException usage(String message) {
        return new UsageException(UsageException.USAGE, message);
    }

    static UsageException invalid(String message) {
        return new UsageException(UsageException.INVALID, message);
    }
}
