package dev.virtiofsd.launcher;

import static dev.virtiofsd.launcher.CommandLine.usage;
import static dev.virtiofsd.launcher.OptionValues.isStrategyName;
import static dev.virtiofsd.launcher.OptionValues.namespaceRange;
import static dev.virtiofsd.launcher.OptionValues.nonEmpty;
import static dev.virtiofsd.launcher.OptionValues.nonNegativeInt;
import static dev.virtiofsd.launcher.OptionValues.oneOf;
import static dev.virtiofsd.launcher.OptionValues.tag;
import static dev.virtiofsd.launcher.OptionValues.translation;
import static dev.virtiofsd.launcher.OptionValues.xattrmap;

import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Every option the command line knows: its name, whether it takes a value, the help line, and what
 * it sets in {@link Options}. Grouped as --help shows them: virtiofsd's options, ours, and the ones
 * accepted for compatibility.
 */
final class OptionTable {
    private static final Set<String> CACHE = Set.of("auto", "always", "never", "metadata");
    private static final Set<String> INODE_FILE_HANDLES = Set.of("never", "prefer", "fallback", "mandatory");
    private static final Set<String> LOG_LEVELS = Set.of("error", "warn", "info", "debug", "trace", "off");
    private static final Set<String> TRANSPORTS = Set.of(Options.VHOST_USER, Options.FUSE_DEV);

    /** Whether an option takes a value. */
    enum Arity {
        FLAG,
        VALUE
    }

    /** What an option does to the options parsed so far. */
    interface Setter {
        void set(Options o, String option, String value) throws UsageException;
    }

    /** One option. */
    record Spec(String name, Arity arity, String valueName, String help, Setter setter) {}

    static final Map<String, Spec> SUPPORTED = new LinkedHashMap<>();
    static final Map<String, Spec> OWN = new LinkedHashMap<>();
    static final Map<String, Spec> COMPAT = new LinkedHashMap<>();
    /** virtiofsd options we know but do not implement, with their arity (so help can show them). */
    static final Map<String, Arity> UNSUPPORTED = new LinkedHashMap<>();

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
                LegacyOptions::parse);
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
                    if (!isStrategyName(v)) {
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

    private OptionTable() {}

    /** --sandbox, --seccomp, --modcaps, --rlimit-nofile (parsed by SandboxOptions). */
    private static void sandboxOptions() {
        supported(
                "--sandbox",
                Arity.VALUE,
                "SANDBOX",
                "Sandbox mechanism to isolate the daemon process (namespace, chroot, none) [default: namespace;"
                        + " none with --transport=fuse-dev]",
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

    /** The option of that name (canonical or short), or null. */
    static Spec spec(String name) {
        Spec s = SUPPORTED.get(name);
        if (s == null) {
            s = OWN.get(name);
        }
        if (s == null) {
            s = COMPAT.get(name);
        }
        return s;
    }
}
