package dev.virtiofsd.launcher;

import dev.virtiofsd.api.config.ControlConfiguration;
import dev.virtiofsd.api.config.FuseDevConfiguration;
import dev.virtiofsd.api.config.LauncherConfiguration;
import dev.virtiofsd.api.config.PassthroughConfiguration;
import dev.virtiofsd.api.config.VhostUserConfiguration;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The command line (and a profile) as the ConfigAdmin configurations of the bundles' components, by
 * PID. The PIDs, keys and defaults are the bundles' configuration contract ({@code
 * dev.virtiofsd.api.config}); each bundle describes the same keys in its metatype.
 */
final class ComponentConfigurations {
    private static final String PID_PASSTHROUGH = PassthroughConfiguration.PID;
    private static final String PID_VHOST_USER = VhostUserConfiguration.PID;
    private static final String PID_FUSE_DEV = FuseDevConfiguration.PID;
    private static final String PID_CONTROL = ControlConfiguration.PID;
    private static final String PID_LAUNCHER = LauncherConfiguration.PID;

    /**
     * Which command-line options set each configuration key ("PID/key"): such a key of a profile is
     * replaced only when one of its options was given. A key missing here is replaced when its
     * command-line value differs from the default.
     */
    static final Map<String, List<String>> KEY_OPTIONS = new HashMap<>();

    static {
        source(PID_PASSTHROUGH, PassthroughConfiguration.SHARED_DIR, "--shared-dir");
        source(PID_PASSTHROUGH, PassthroughConfiguration.CACHE, "--cache");
        source(PID_PASSTHROUGH, PassthroughConfiguration.XATTR, "--xattr");
        source(PID_PASSTHROUGH, PassthroughConfiguration.READONLY, "--readonly");
        source(
                PID_PASSTHROUGH,
                PassthroughConfiguration.ANNOUNCE_SUBMOUNTS,
                "--announce-submounts",
                "--no-announce-submounts");
        source(PID_PASSTHROUGH, PassthroughConfiguration.STRATEGY, "--strategy", "--inode-file-handles");
        source(PID_FUSE_DEV, FuseDevConfiguration.MOUNTPOINT, "--mountpoint");
        source(PID_FUSE_DEV, FuseDevConfiguration.THREADS, "--thread-pool-size");
        source(PID_VHOST_USER, VhostUserConfiguration.SOCKET_PATH, "--socket-path");
        source(PID_VHOST_USER, VhostUserConfiguration.FD, "--fd");
        source(PID_VHOST_USER, VhostUserConfiguration.SOCKET_GROUP, "--socket-group");
        source(PID_VHOST_USER, VhostUserConfiguration.THREAD_POOL_SIZE, "--thread-pool-size");
        source(PID_CONTROL, ControlConfiguration.SOCKET_PATH, "--control-socket");
    }

    private static void source(String pid, String key, String... options) {
        KEY_OPTIONS.put(pid + "/" + key, List.of(options));
    }

    private ComponentConfigurations() {}

    /** PID -> properties for the chosen transport and the passthrough filesystem, without sandbox. */
    static Map<String, Map<String, Object>> configurations(Options o) {
        return configurations(o, false);
    }

    /**
     * PID -> properties for the chosen transport and the passthrough filesystem.
     *
     * @param confined the sandbox makes paths outside the shared directory unreachable once the transport is ready
     */
    static Map<String, Map<String, Object>> configurations(Options o, boolean confined) {
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        Map<String, Object> fs = new LinkedHashMap<>();
        fs.put(
                PassthroughConfiguration.SHARED_DIR,
                Paths.get(o.sharedDir).toAbsolutePath().normalize().toString());
        fs.put(PassthroughConfiguration.CACHE, o.cache);
        fs.put(PassthroughConfiguration.XATTR, o.xattrEnabled());
        fs.put(PassthroughConfiguration.READONLY, o.readonly);
        fs.put(PassthroughConfiguration.ANNOUNCE_SUBMOUNTS, o.announceSubmounts);
        fs.put(PassthroughConfiguration.POSIX_ACL, o.posixAcl);
        fs.put(PassthroughConfiguration.SECURITY_LABEL, o.securityLabel);
        fs.put(PassthroughConfiguration.WRITEBACK, o.writeback);
        fs.put(PassthroughConfiguration.ALLOW_DIRECT_IO, o.allowDirectIo);
        fs.put(PassthroughConfiguration.ALLOW_MMAP, o.allowMmap);
        fs.put(PassthroughConfiguration.READDIRPLUS, o.readdirplus());
        fs.put(PassthroughConfiguration.KILLPRIV_V2, o.killprivV2);
        fs.put(PassthroughConfiguration.PRESERVE_NOATIME, o.preserveNoatime);
        fs.put(PassthroughConfiguration.POSIX_LOCKS, o.posixLocks);
        fs.put(PassthroughConfiguration.FLOCK_LOCKS, o.flockLocks);
        if (o.xattrmap != null) {
            fs.put(PassthroughConfiguration.XATTRMAP, XattrMapSyntax.encode(o.xattrmapRules));
        }
        if (!o.translateUid.isEmpty()) {
            fs.put(PassthroughConfiguration.TRANSLATE_UID, o.translateUid.toArray(new String[0]));
        }
        if (!o.translateGid.isEmpty()) {
            fs.put(PassthroughConfiguration.TRANSLATE_GID, o.translateGid.toArray(new String[0]));
        }
        fs.put(PassthroughConfiguration.STRATEGY, o.strategyName());
        o.migration.addTo(fs);
        out.put(PID_PASSTHROUGH, fs);
        Map<String, Object> t = new LinkedHashMap<>();
        if (o.transport.equals(Options.FUSE_DEV)) {
            t.put(
                    FuseDevConfiguration.MOUNTPOINT,
                    Paths.get(o.mountpoint).toAbsolutePath().normalize().toString());
            t.put(FuseDevConfiguration.THREADS, o.fuseDevThreads());
            out.put(PID_FUSE_DEV, t);
        } else {
            t.put(
                    VhostUserConfiguration.SOCKET_PATH,
                    o.socketPath == null
                            ? VhostUserConfiguration.SOCKET_PATH_DEFAULT
                            : Paths.get(o.socketPath).toAbsolutePath().toString());
            t.put(VhostUserConfiguration.FD, o.fd);
            t.put(VhostUserConfiguration.SOCKET_GROUP, o.socketGroup);
            t.put(VhostUserConfiguration.THREAD_POOL_SIZE, o.threadPoolSize);
            if (o.tag != null) {
                t.put(VhostUserConfiguration.TAG, o.tag);
            }
            t.put(VhostUserConfiguration.CONFINED, confined);
            out.put(PID_VHOST_USER, t);
        }
        if (o.controlSocket != null) {
            out.put(
                    PID_CONTROL,
                    new LinkedHashMap<>(Map.of(
                            ControlConfiguration.SOCKET_PATH,
                            Paths.get(o.controlSocket)
                                    .toAbsolutePath()
                                    .normalize()
                                    .toString())));
        }
        return out;
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
        Object transport = p.launcher(LauncherConfiguration.TRANSPORT);
        if (transport != null && !o.given.contains("--transport")) {
            if (!Options.VHOST_USER.equals(transport) && !Options.FUSE_DEV.equals(transport)) {
                throw CommandLine.invalid(
                        where + PID_LAUNCHER + " transport " + transport + ": must be vhost-user or fuse-dev");
            }
            o.transport = (String) transport;
        }
        Object sandbox = p.launcher(LauncherConfiguration.SANDBOX);
        if (sandbox != null && !o.given.contains("--sandbox")) {
            if (!SandboxOptions.SANDBOX.contains(sandbox)) {
                throw CommandLine.invalid(
                        where + PID_LAUNCHER + " sandbox " + sandbox + ": must be one of chroot|namespace|none");
            }
            o.sandbox = (String) sandbox;
            o.sandboxFromProfile = true;
        }
        Object seccomp = p.launcher(LauncherConfiguration.SECCOMP);
        if (seccomp != null && !o.given.contains("--seccomp")) {
            if (!SandboxOptions.SECCOMP.contains(seccomp)) {
                throw CommandLine.invalid(
                        where + PID_LAUNCHER + " seccomp " + seccomp + ": must be one of kill|log|none|trap");
            }
            o.seccomp = (String) seccomp;
        }
        Map<String, java.util.Hashtable<String, Object>> pids = p.configurations();
        java.util.Hashtable<String, Object> passthrough = pids.get(PID_PASSTHROUGH);
        Object strategy = passthrough == null ? null : passthrough.get(PassthroughConfiguration.STRATEGY);
        if (strategy != null) {
            if (!(strategy instanceof String name) || !CommandLine.isStrategyName(name)) {
                throw CommandLine.invalid(where + PID_PASSTHROUGH + " strategy " + strategy
                        + ": a strategy name is letters, digits, '.', '_' and '-'");
            }
            o.profileStrategy = name;
        }
        java.util.Hashtable<String, Object> control = pids.get(PID_CONTROL);
        Object socket = control == null ? null : control.get(ControlConfiguration.SOCKET_PATH);
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
    static Map<String, Map<String, Object>> effectiveConfigurations(Options o) {
        return effectiveConfigurations(o, false);
    }

    /** As {@link #effectiveConfigurations(Options)}, for a daemon that {@code confined} or not by its sandbox. */
    static Map<String, Map<String, Object>> effectiveConfigurations(Options o, boolean confined) {
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
        launcher.put(LauncherConfiguration.PROFILE, p == null ? "" : p.name());
        launcher.put(
                LauncherConfiguration.PROFILE_SOURCE,
                p == null ? "" : p.source().toString());
        launcher.put(LauncherConfiguration.TRANSPORT, o.transport);
        launcher.put(LauncherConfiguration.PIDS, out.keySet().toArray(new String[0]));
        out.put(PID_LAUNCHER, launcher);
        return out;
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
}
