package dev.virtiofsd.launcher;

import dev.virtiofsd.api.config.FuseDevConfiguration;
import dev.virtiofsd.api.config.PassthroughConfiguration;
import dev.virtiofsd.api.config.VhostUserConfiguration;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The parsed command line. Plain fields: filled by {@link CommandLine}, turned into the components'
 * configurations by {@link ComponentConfigurations}.
 */
public final class Options {
    public static final String VHOST_USER = "vhost-user";
    public static final String FUSE_DEV = "fuse-dev";

    public boolean help;
    public boolean version;
    public boolean printCapabilities;

    public String sharedDir;
    public String socketPath;
    /** Set when the deprecated --socket spelling was used. */
    public boolean deprecatedSocket;

    public int fd = VhostUserConfiguration.FD_DEFAULT;
    public String socketGroup = VhostUserConfiguration.SOCKET_GROUP_DEFAULT;
    public int threadPoolSize = VhostUserConfiguration.THREAD_POOL_SIZE_DEFAULT;
    /** virtiofsd's never|prefer|mandatory ("fallback" is normalised to "prefer"). */
    public String inodeFileHandles = "never";

    // Defaults of what the passthrough configuration gets: the configuration contract's (virtiofsd's).
    public String cache = PassthroughConfiguration.CACHE_DEFAULT;
    public boolean xattr = PassthroughConfiguration.XATTR_DEFAULT;
    public boolean readonly = PassthroughConfiguration.READONLY_DEFAULT;
    public boolean announceSubmounts = PassthroughConfiguration.ANNOUNCE_SUBMOUNTS_DEFAULT;
    public String logLevel = "info";
    /** --migration-*. */
    public final MigrationArgs migration = new MigrationArgs();

    public boolean syslog;

    /** --tag: the tag the device advertises through the vhost-user config space, or null. */
    public String tag;

    public boolean posixAcl = PassthroughConfiguration.POSIX_ACL_DEFAULT;
    public boolean securityLabel = PassthroughConfiguration.SECURITY_LABEL_DEFAULT;
    /** --xattrmap as given (null if none) and its rules after map expansion. */
    public String xattrmap;

    public final List<XattrMapSyntax.Rule> xattrmapRules = new ArrayList<>();
    public boolean writeback = PassthroughConfiguration.WRITEBACK_DEFAULT;
    public boolean allowDirectIo = PassthroughConfiguration.ALLOW_DIRECT_IO_DEFAULT;
    public boolean allowMmap = PassthroughConfiguration.ALLOW_MMAP_DEFAULT;
    public boolean noReaddirplus = !PassthroughConfiguration.READDIRPLUS_DEFAULT;
    public boolean killprivV2 = PassthroughConfiguration.KILLPRIV_V2_DEFAULT;
    public boolean preserveNoatime = PassthroughConfiguration.PRESERVE_NOATIME_DEFAULT;
    /** Host POSIX (OFD) and flock locks for the guest: on by default, -o no_posix_lock / no_flock turn them off. */
    public boolean posixLocks = PassthroughConfiguration.POSIX_LOCKS_DEFAULT;

    public boolean flockLocks = PassthroughConfiguration.FLOCK_LOCKS_DEFAULT;
    /** --translate-uid/--translate-gid in canonical form (type:a:b[:c]). */
    public final List<String> translateUid = new ArrayList<>();

    public final List<String> translateGid = new ArrayList<>();
    /** --uid-map/--gid-map ranges {inside, outside, count}. */
    public final List<long[]> uidMap = new ArrayList<>();

    public final List<long[]> gidMap = new ArrayList<>();
    /** -o was used (deprecated format). */
    public boolean compatOptions;

    public String transport = VHOST_USER;
    public String mountpoint;
    public final List<Path> bundleDirs = new ArrayList<>();
    /** Explicit --strategy NAME, or null. */
    public String strategy;
    /** The strategy a profile names (its passthrough key {@code strategy}), or null: see {@link #strategyName}. */
    public String profileStrategy;
    /** --control-socket PATH (or a profile's control socket path), or null. */
    public String controlSocket;
    /** --profile NAME|FILE as given, or null; {@link #loadedProfile} once read. */
    public String profile;

    public Profile loadedProfile;

    /** Options given on the command line (canonical names, e.g. --socket-path for --socket): they win over a profile. */
    public final Set<String> given = new LinkedHashSet<>();

    /** xattr support is on: --xattr, or implied by --posix-acl, --security-label or --xattrmap (as virtiofsd). */
    public boolean xattrEnabled() {
        return xattr || posixAcl || securityLabel || xattrmap != null;
    }

    /** READDIRPLUS is offered unless --no-readdirplus, and never with --cache=never (as virtiofsd). */
    public boolean readdirplus() {
        return !noReaddirplus && !cache.equals("never");
    }

    // The sandbox (see SandboxOptions): virtiofsd's defaults.
    public String sandbox = SandboxOptions.NAMESPACE;
    /** A profile set the sandbox (the command line's --sandbox is in {@link #given}). */
    public boolean sandboxFromProfile;

    public String seccomp = "kill";
    /** --modcaps, normalised ("+sys_admin:-chown"), or null. */
    public String modcaps;
    /** --rlimit-nofile: -1 = virtiofsd's default (raise), 0 = leave as is, else the limit. */
    public long rlimitNofile = -1;

    /** Deprecation notes to log once logging is set up. */
    public final List<String> warnings = new ArrayList<>();

    /**
     * The inode-identity strategy name: --strategy, else mapped from --inode-file-handles when
     * given, else the profile's, else fd.
     */
    public String strategyName() {
        if (strategy != null) {
            return strategy;
        }
        if (profileStrategy != null && !given.contains("--inode-file-handles")) {
            return profileStrategy;
        }
        switch (inodeFileHandles) {
            case "prefer":
                return "handle-preferred";
            case "mandatory":
                return "handle-only";
            default:
                return PassthroughConfiguration.STRATEGY_DEFAULT;
        }
    }

    /** Threads for the fuse-dev transport: the pool size when given, else two readers. */
    public int fuseDevThreads() {
        return threadPoolSize > 0 ? threadPoolSize : FuseDevConfiguration.THREADS_DEFAULT;
    }
}
