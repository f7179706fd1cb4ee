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
        supported("--syslog", Arity.FLAG, null, "Log to syslog [default: stderr]", (o, n, v) -> o.syslog = true);
        supported(
                "--tag",
                Arity.VALUE,
                "TAG",
                "The tag that the virtio device advertises (through VHOST_USER_PROTOCOL_F_CONFIG; QEMU"
                        + " up to 8.1 ignores it, and 7.1 to 8.0 crash when offered the feature)",
                (o, n, v) -> o.tag = tag(n, v));
        supported(
                "--posix-acl",
                Arity.FLAG,
                null,
                "Enable support for posix ACLs (implies --xattr)",
                (o, n, v) -> o.posixAcl = true);
        supported(
                "--xattrmap",
                Arity.VALUE,
                "XATTRMAP",
                "Add custom rules for translating extended attributes between host and guest"
                        + " (e.g. :map::user.virtiofs.:)",
                (o, n, v) -> xattrmap(o, n, v));
        supported(
                "--security-label",
                Arity.FLAG,
                null,
                "Enable security label support (implies --xattr): the security context the guest sends"
                        + " on file creation is stored in the new file",
                (o, n, v) -> o.securityLabel = true);
        supported(
                "--allow-mmap",
                Arity.FLAG,
                null,
                "With --cache=metadata or never, allow shared files to be mmap'd (the guest kernel must know"
                        + " FUSE_DIRECT_IO_ALLOW_MMAP)",
                (o, n, v) -> o.allowMmap = true);
        supported(
                "--no-readdirplus",
                Arity.FLAG,
                null,
                "Disable support for READDIRPLUS operations",
                (o, n, v) -> o.noReaddirplus = true);
        supported("--writeback", Arity.FLAG, null, "Enable writeback cache", (o, n, v) -> o.writeback = true);
        supported(
                "--allow-direct-io",
                Arity.FLAG,
                null,
                "Honor the O_DIRECT flag passed down by guest applications",
                (o, n, v) -> o.allowDirectIo = true);
        supported("--killpriv-v2", Arity.FLAG, null, "Enable KILLPRIV V2 support", (o, n, v) -> o.killprivV2 = true);
        supported(
                "--no-killpriv-v2",
                Arity.FLAG,
                null,
                "Disable KILLPRIV V2 support [default]",
                (o, n, v) -> o.killprivV2 = false);
        supported(
                "--preserve-noatime",
                Arity.FLAG,
                null,
                "Preserve O_NOATIME on open, otherwise it is cleared to prevent permission errors",
                (o, n, v) -> o.preserveNoatime = true);
        supported(
                "--translate-uid",
                Arity.VALUE,
                "TRANSLATE_UID",
                "Translate UIDs between guest and host, as TYPE:SOURCE_BASE:TARGET_BASE:COUNT with TYPE"
                        + " guest, host, squash-guest, squash-host, map, or forbid-guest:GUEST_BASE:COUNT;"
                        + " repeatable; not with --posix-acl",
                (o, n, v) -> o.translateUid.add(translation(n, v)));
        supported(
                "--translate-gid",
                Arity.VALUE,
                "TRANSLATE_GID",
                "Same as --translate-uid, but for GIDs",
                (o, n, v) -> o.translateGid.add(translation(n, v)));
        supported(
                "--uid-map",
                Arity.VALUE,
                "UID_MAP",
                "Map a range of UIDs from the host into the daemon's user namespace, as"
                        + " :namespace_uid:host_uid:count: (unprivileged users with --sandbox=namespace, through"
                        + " newuidmap; namespace uid 0 must be mapped); repeatable",
                (o, n, v) -> o.uidMap.add(namespaceRange(n, v)));
        supported(
                "--gid-map",
                Arity.VALUE,
                "GID_MAP",
                "Map a range of GIDs from the host into the daemon's user namespace, as"
                        + " :namespace_gid:host_gid:count:; repeatable",
                (o, n, v) -> o.gidMap.add(namespaceRange(n, v)));
        supported(
                "-o",
                Arity.VALUE,
                "COMPAT_OPTIONS",
                "Options in the format of the legacy implementation [deprecated]: a comma-separated list of"
                        + " source=DIR, cache=, sandbox=, xattrmap=, modcaps=, loglevel=, [no_]xattr,"
                        + " [no_]posix_acl, [no_]security_label, [no_]writeback, [no_]readdirplus,"
                        + " [no_]allow_direct_io, [no_]killpriv_v2, announce_submounts, [no_]posix_lock, [no_]flock",
                CommandLine::legacyOptions);
        supported(
                "--print-capabilities",
                Arity.FLAG,
                null,
                "Print vhost-user.json backend program capabilities and exit",
                (o, n, v) -> o.printCapabilities = true);
        sandboxOptions();
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

        own(
                "--profile",
                Arity.VALUE,
                "NAME|FILE",
                "Deployment profile: bundle set plus configuration from an OSGi Configurator JSON file"
                        + " (conf/profiles/NAME.json: libvirt, kata, host-mount, hardened; or a path); the command"
                        + " line overrides it",
                (o, n, v) -> o.profile = nonEmpty(n, v));
        own(
                "--control-socket",
                Arity.VALUE,
                "PATH",
                "UNIX socket (mode 0600) for virtiofsd-java-ctl: strategy [NAME], stats, bundles, profile,"
                        + " convert [MAX]",
                (o, n, v) -> o.controlSocket = nonEmpty(n, v));

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

        // Accepted because they ask for what we do anyway.
        compat(
                "-f",
                Arity.FLAG,
                null,
                "Compatibility option that has no effect [deprecated]",
                (o, n, v) -> o.warnings.add("Use of deprecated flag '-f': This flag has no effect, please remove it"));
        compat("-d", Arity.FLAG, null, "Set log level to \"debug\" [deprecated]", (o, n, v) -> {
            o.logLevel = "debug";
            o.warnings.add("Use of deprecated flag '-d': Please use the '--log-level debug' option instead");
        });
        compat("-h", Arity.FLAG, null, "Print help", (o, n, v) -> o.help = true);
        compat("-V", Arity.FLAG, null, "Print version", (o, n, v) -> o.version = true);
    }

    private CommandLine() {}

    /** --sandbox, --seccomp, --modcaps, --rlimit-nofile (parsed by SandboxOptions). */
    private static void sandboxOptions() {
        supported(
                "--sandbox",
                Arity.VALUE,
                "SANDBOX",
                "Sandbox mechanism to isolate the daemon process (namespace, chroot, none) [default: namespace]",
                SandboxOptions::sandbox);
        supported(
                "--seccomp",
                Arity.VALUE,
                "SECCOMP",
                "Action to take when seccomp finds a not allowed syscall (none, kill, log, trap) [default: kill]",
                SandboxOptions::seccomp);
        supported(
                "--modcaps",
                Arity.VALUE,
                "MODCAPS",
                "Modify the list of capabilities, e.g., --modcaps=+sys_admin:-chown",
                SandboxOptions::modcaps);
        supported(
                "--rlimit-nofile",
                Arity.VALUE,
                "RLIMIT_NOFILE",
                "Set maximum number of file descriptors (0 leaves rlimit unchanged)"
                        + " [default: min(1000000, /proc/sys/fs/nr_open), else the hard limit]",
                SandboxOptions::rlimitNofile);
    }

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
            o.given.add(name.equals("--socket") ? "--socket-path" : name);
            if (o.help || o.version) {
                return o;
            }
        }
        if (o.printCapabilities) {
            return o;
        }
        if (o.profile == null) {
            // With a profile the check waits until its launcher section (transport) is applied: Main.
            checkCombination(o);
        }
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

    /** A name --strategy accepts (also a profile's strategy key). */
    static boolean isStrategyName(String name) {
        return STRATEGY_NAME.matcher(name).matches();
    }

    /** The options that go together; {@link #parse} runs it unless a profile is given (then Main does). */
    public static void checkCombination(Options o) throws UsageException {
        if (o.sharedDir == null) {
            throw usage(o.compatOptions ? "--shared-dir or -o source is required" : "--shared-dir is required");
        }
        if (o.posixAcl && (!o.translateUid.isEmpty() || !o.translateGid.isEmpty())) {
            throw usage((o.translateUid.isEmpty() ? "--translate-gid" : "--translate-uid")
                    + " cannot be used with --posix-acl (translating ids would break posix ACLs)");
        }
        try {
            Capabilities.expected(o);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
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
            if (!o.sandbox.equals(SandboxOptions.NONE)) {
                throw usage("--transport=fuse-dev mounts on this host, which --sandbox " + o.sandbox
                        + " would hide from the daemon: add --sandbox none (--seccomp still applies)");
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
        if (!o.uidMap.isEmpty() || !o.gidMap.isEmpty()) {
            // virtiofsd: the maps describe the user namespace an unprivileged daemon creates for
            // its namespace sandbox; root does not get one.
            String which = o.uidMap.isEmpty() ? "--gid-map" : "--uid-map";
            if (startingUid() == 0) {
                throw invalid(which + " can only be used by an unprivileged user (the user namespace of"
                        + " --sandbox=namespace); root needs no id map");
            }
            if (!o.sandbox.equals(SandboxOptions.NAMESPACE)) {
                throw invalid(
                        which + " describes the user namespace of --sandbox namespace, not of --sandbox " + o.sandbox);
            }
            // bin/virtiofsd-java runs the daemon as root (id 0) of its user namespace: without it the
            // JVM would lose its capabilities there at exec. An absent map makes the user's own id 0.
            if (!o.uidMap.isEmpty() && !mapsZero(o.uidMap)) {
                throw invalid("--uid-map must map namespace uid 0 (the daemon runs as root in its user"
                        + " namespace), e.g. --uid-map=:0:" + startingUid() + ":1:");
            }
            if (!o.gidMap.isEmpty() && !mapsZero(o.gidMap)) {
                throw invalid("--gid-map must map namespace gid 0 (the daemon runs as root in its user"
                        + " namespace), e.g. --gid-map=:0:GID:1:");
            }
        }
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
        if (o.controlSocket != null) {
            Path socket = Paths.get(o.controlSocket).toAbsolutePath();
            Path dir = socket.getParent();
            if (dir == null || !Files.isDirectory(dir)) {
                throw invalid("--control-socket " + o.controlSocket + ": directory " + dir + " does not exist");
            }
            if (Files.isDirectory(socket)) {
                throw invalid("--control-socket " + o.controlSocket + ": is a directory");
            }
        }
        for (Path dir : o.bundleDirs) {
            if (!Files.isDirectory(dir)) {
                throw invalid("--bundles " + dir + ": no such directory");
            }
            String untrusted;
            try {
                untrusted = BundleTrust.check(dir, BundleTrust.euid());
            } catch (java.io.IOException e) {
                untrusted = e.toString();
            }
            if (untrusted != null) {
                throw invalid("--bundles " + dir + ": " + untrusted);
            }
        }
    }

    /** bin/virtiofsd-java passes the effective uid it was started with (the JVM may be root of a user namespace). */
    static final String STARTING_UID_PROPERTY = "virtiofsd.sandbox.euid";

    /** The effective uid the daemon was started with, outside any user namespace the script made. */
    static int startingUid() {
        String p = System.getProperty(STARTING_UID_PROPERTY);
        if (p != null) {
            try {
                return Integer.parseInt(p);
            } catch (NumberFormatException e) {
                // not from the script: what the process is
            }
        }
        return effectiveUid();
    }

    /** Whether one of the ranges (inside, outside, count) contains namespace id 0. */
    static boolean mapsZero(List<long[]> ranges) {
        for (long[] r : ranges) {
            if (r[0] == 0 && r[2] > 0) {
                return true;
            }
        }
        return false;
    }

    /** This process's effective uid, from /proc/self/status (no native call before the framework). */
    static int effectiveUid() {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return Integer.parseInt(line.substring(4).trim().split("\\s+", -1)[1]);
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // fall through
        }
        return -1;
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
        if (!UNSUPPORTED.isEmpty()) {
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
            b.append('\n');
        }
        b.append("\nBoth --option VALUE and --option=VALUE are accepted.\n");
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

    /** MAX_TAG_LEN of virtiofsd (the virtio-fs config space holds 36 bytes). */
    static final int MAX_TAG_LEN = 36;

    private static String tag(String option, String value) throws UsageException {
        int len = value.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (len == 0 || len > MAX_TAG_LEN) {
            throw usage(option + " " + value + ": a tag is 1 to " + MAX_TAG_LEN + " bytes");
        }
        return value;
    }

    private static void xattrmap(Options o, String option, String value) throws UsageException {
        try {
            List<XattrMapSyntax.Rule> rules = XattrMapSyntax.parse(value);
            o.xattrmap = value;
            o.xattrmapRules.clear();
            o.xattrmapRules.addAll(rules);
        } catch (IllegalArgumentException e) {
            throw usage(option + " " + oneLine(value) + ": " + e.getMessage());
        }
    }

    private static String translation(String option, String value) throws UsageException {
        try {
            return IdMapSyntax.translation(value);
        } catch (IllegalArgumentException e) {
            throw usage(option + " " + value + ": " + e.getMessage());
        }
    }

    private static long[] namespaceRange(String option, String value) throws UsageException {
        try {
            return IdMapSyntax.namespaceRange(value);
        } catch (IllegalArgumentException e) {
            throw usage(option + " " + value + ": " + e.getMessage());
        }
    }

    private static String oneLine(String s) {
        return s.replaceAll("\\s+", " ").strip();
    }

    /**
     * {@code -o} of the legacy daemon, as virtiofsd 1.13 reads it: a comma-separated list where each
     * key sets what the long option of the same meaning sets (so -o sandbox=chroot does what
     * --sandbox=chroot does). A doubled comma is a comma of the value (libvirt escapes commas in the
     * source path that way). Besides virtiofsd's keys, posix_lock and flock (libvirt's
     * {@code <lock posix='on' flock='on'/>}) turn on host locks, which this daemon has.
     */
    private static void legacyOptions(Options o, String option, String list) throws UsageException {
        if (!o.compatOptions) {
            o.compatOptions = true;
            o.warnings.add("Use of deprecated option format '-o': Please specify options without it"
                    + " (e.g., '--cache auto' instead of '-o cache=auto')");
        }
        for (String item : splitLegacy(list)) {
            int eq = item.indexOf('=');
            if (eq >= 0) {
                String key = item.substring(0, eq);
                String value = item.substring(eq + 1);
                switch (key) {
                    case "source":
                        apply(o, "--shared-dir", key, value);
                        break;
                    case "xattrmap":
                        apply(o, "--xattrmap", key, value);
                        break;
                    case "modcaps":
                        apply(o, "--modcaps", key, value);
                        break;
                    case "cache":
                        switch (value) {
                            case "auto":
                            case "always":
                            case "metadata":
                                apply(o, "--cache", key, value);
                                break;
                            case "none":
                                apply(o, "--cache", key, "never");
                                break;
                            default:
                                throw legacyValue(key, value);
                        }
                        break;
                    case "loglevel":
                        switch (value) {
                            case "debug":
                            case "info":
                            case "warn":
                                apply(o, "--log-level", key, value);
                                break;
                            case "err":
                                apply(o, "--log-level", key, "error");
                                break;
                            default:
                                throw legacyValue(key, value);
                        }
                        break;
                    case "sandbox":
                        if (!value.equals("namespace") && !value.equals("chroot")) {
                            throw legacyValue(key, value);
                        }
                        apply(o, "--sandbox", key, value);
                        break;
                    default:
                        throw usage("Invalid compat argument '-o " + item + "'");
                }
                continue;
            }
            switch (item) {
                case "xattr":
                    o.xattr = true;
                    break;
                case "no_xattr":
                    o.xattr = false;
                    break;
                case "readdirplus":
                    o.noReaddirplus = false;
                    break;
                case "no_readdirplus":
                    o.noReaddirplus = true;
                    break;
                case "writeback":
                    o.writeback = true;
                    break;
                case "no_writeback":
                    o.writeback = false;
                    break;
                case "allow_direct_io":
                    o.allowDirectIo = true;
                    break;
                case "no_allow_direct_io":
                    o.allowDirectIo = false;
                    break;
                case "announce_submounts":
                    o.announceSubmounts = true;
                    break;
                case "killpriv_v2":
                    o.killprivV2 = true;
                    break;
                case "no_killpriv_v2":
                    o.killprivV2 = false;
                    break;
                case "posix_acl":
                    o.posixAcl = true;
                    break;
                case "no_posix_acl":
                    o.posixAcl = false;
                    break;
                case "security_label":
                    o.securityLabel = true;
                    break;
                case "no_security_label":
                    o.securityLabel = false;
                    break;
                case "posix_lock":
                    o.posixLocks = true;
                    break;
                case "no_posix_lock":
                    o.posixLocks = false;
                    break;
                case "flock":
                    o.flockLocks = true;
                    break;
                case "no_flock":
                    o.flockLocks = false;
                    break;
                default:
                    throw usage("Invalid compat argument '-o " + item + "'");
            }
        }
    }

    /** Splits at single commas; ",," stands for a comma inside an item. */
    static List<String> splitLegacy(String list) {
        List<String> items = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < list.length(); i++) {
            char c = list.charAt(i);
            if (c == ',') {
                if (i + 1 < list.length() && list.charAt(i + 1) == ',') {
                    cur.append(',');
                    i++;
                    continue;
                }
                items.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        items.add(cur.toString());
        return items;
    }

    private static void apply(Options o, String longOption, String key, String value) throws UsageException {
        Spec spec = spec(longOption);
        if (spec == null) {
            throw usage("-o " + key + "=" + value + ": " + longOption + " is not supported by " + PROGRAM);
        }
        spec.setter.set(o, longOption, value);
    }

    private static UsageException legacyValue(String key, String value) {
        return usage("Invalid compat value '" + value + "' for '-o " + key + "'");
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

    static UsageException usage(String message) {
        return new UsageException(UsageException.USAGE, message);
    }

    static UsageException invalid(String message) {
        return new UsageException(UsageException.INVALID, message);
    }
}
