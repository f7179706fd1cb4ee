package dev.virtiofsd.launcher;

import java.lang.management.ManagementFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Start-up milestones in milliseconds since the JVM started, at debug level on the logger
 * {@code dev.virtiofsd.launcher.startup} (enable it alone to see where start-up time goes), or
 * with the environment variable {@code VIRTIOFSD_STARTUP_TRACE=1} (not a JVM option, so that a traced
 * start maps the same class-data archive as any other) as lines "startup-trace NANOTIME CPU-TICKS what" on
 * stderr whatever the log level: System.nanoTime() (CLOCK_MONOTONIC, the same clock in every
 * process, so whoever launched the daemon can subtract its launch time) and the utime + stime of
 * the whole process from /proc/self/stat. The benchmark's start-up breakdown reads them.
 */
final class StartupTrace {
    private static final boolean TO_STDERR = "1".equals(System.getenv("VIRTIOFSD_STARTUP_TRACE"));

    private StartupTrace() {}

    /** A milestone once logging is configured. */
    static void mark(String what) {
        early(what);
        Logger log = LoggerFactory.getLogger("dev.virtiofsd.launcher.startup");
        if (log.isDebugEnabled()) {
            log.debug("{} ms: {}", ManagementFactory.getRuntimeMXBean().getUptime(), what);
        }
    }

    /** A milestone before logging is configured: stderr trace only (the logger must not start yet). */
    static void early(String what) {
        if (TO_STDERR) {
            System.err.println("startup-trace " + System.nanoTime() + " " + cpuTicks() + " " + what);
        }
    }

    /** utime + stime of this process in clock ticks, -1 if /proc cannot tell. */
    private static long cpuTicks() {
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ", -1);
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
    }
}
