package dev.virtiofsd.api.config;

/**
 * PID {@value #PID}: not a component's configuration but what the launcher tells the bundles about
 * itself (the control socket's {@code profile} command reads it), and the section of a deployment
 * profile the launcher reads before the framework starts.
 */
public final class LauncherConfiguration {
    public static final String PID = "dev.virtiofsd.launcher";

    /** Written: the profile's name, empty without one. */
    public static final String PROFILE = "profile";

    /** Written: the profile's file, empty without one. */
    public static final String PROFILE_SOURCE = "profile.source";

    /** Written, and read from a profile: vhost-user or fuse-dev. */
    public static final String TRANSPORT = "transport";

    /** Written: the PIDs the launcher configured. */
    public static final String PIDS = "pids";

    /** Read from a profile: symbolic names of distribution bundles not to install. */
    public static final String BUNDLES_EXCLUDE = "bundles.exclude";

    /** Read from a profile: the sandbox (namespace, chroot, none). */
    public static final String SANDBOX = "sandbox";

    /** Read from a profile: the seccomp action (kill, log, trap, none). */
    public static final String SECCOMP = "seccomp";

    private LauncherConfiguration() {}
}
