package dev.virtiofsd.launcher;

import static dev.virtiofsd.launcher.CommandLine.invalid;
import static dev.virtiofsd.launcher.CommandLine.usage;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

/**
 * The checks of a parsed command line as a whole: which options go together, then, before the
 * framework boots, whether what they name exists on this machine.
 */
final class OptionChecks {
    private OptionChecks() {}

    /** The options that go together; {@link CommandLine#parse} runs it unless a profile is given (then Main does). */
    static void checkCombination(Options o) throws UsageException {
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
            if (!o.sandbox.equals(SandboxOptions.NONE) && !o.given.contains("--sandbox") && !o.sandboxFromProfile) {
                // The mount must be made in the host's mount namespace, which the namespace sandbox
                // would leave: without a --sandbox, this transport runs with none (seccomp and the
                // capability set still apply). bin/virtiofsd-java decides the same way.
                o.sandbox = SandboxOptions.NONE;
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
    static void validate(Options o) throws UsageException {
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

    /** The effective uid the daemon was started with, outside any user namespace the script made. */
    static int startingUid() {
        String p = System.getProperty(CommandLine.STARTING_UID_PROPERTY);
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
}
