package dev.virtiofsd.launcher;

import java.util.Set;

/**
 * The sandbox options, as virtiofsd's: {@code --sandbox namespace|chroot|none},
 * {@code --seccomp kill|log|trap|none}, {@code --modcaps +cap:-cap}, {@code --rlimit-nofile N}.
 * Each parser checks one value and stores it in {@link Options}; CommandLine (and a legacy
 * {@code -o sandbox=...} form) call them.
 */
public final class SandboxOptions {
    public static final String NAMESPACE = "namespace";
    public static final String CHROOT = "chroot";
    public static final String NONE = "none";

    static final Set<String> SANDBOX = Set.of(NAMESPACE, CHROOT, NONE);
    static final Set<String> SECCOMP = Set.of("kill", "log", "trap", NONE);

    private SandboxOptions() {}

    /** --sandbox: virtiofsd accepts any case. */
    public static void sandbox(Options o, String option, String value) throws UsageException {
        String v = value.toLowerCase(java.util.Locale.ROOT);
        if (!SANDBOX.contains(v)) {
            throw CommandLine.usage(option + " " + value + ": must be one of chroot|namespace|none");
        }
        o.sandbox = v;
        o.given.add("--sandbox"); // also for -o sandbox=...: it wins over a profile
    }

    public static void seccomp(Options o, String option, String value) throws UsageException {
        String v = value.toLowerCase(java.util.Locale.ROOT);
        if (!SECCOMP.contains(v)) {
            throw CommandLine.usage(option + " " + value + ": must be one of kill|log|none|trap");
        }
        o.seccomp = v;
        o.given.add("--seccomp");
    }

    public static void modcaps(Options o, String option, String value) throws UsageException {
        try {
            o.modcaps = Capabilities.parseModcaps(value);
        } catch (IllegalArgumentException e) {
            throw CommandLine.usage(option + " " + value + ": " + e.getMessage());
        }
    }

    /** --rlimit-nofile N: 0 leaves the limit as it is (virtiofsd's meaning). */
    public static void rlimitNofile(Options o, String option, String value) throws UsageException {
        try {
            long n = Long.parseLong(value);
            if (n >= 0) {
                o.rlimitNofile = n;
                return;
            }
        } catch (NumberFormatException e) {
            // fall through to the message
        }
        throw CommandLine.usage(option + " " + value + ": not a non-negative integer");
    }
}
