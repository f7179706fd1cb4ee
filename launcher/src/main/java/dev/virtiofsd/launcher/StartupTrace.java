package dev.virtiofsd.launcher;

import java.lang.management.ManagementFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Start-up milestones in milliseconds since the JVM started, at debug level on the logger
 * {@code dev.virtiofsd.launcher.startup} (enable it alone to see where start-up time goes).
 */
final class StartupTrace {
    private static final Logger LOG = LoggerFactory.getLogger("dev.virtiofsd.launcher.startup");

    private StartupTrace() {}

    static void mark(String what) {
        if (LOG.isDebugEnabled()) {
            LOG.debug("{} ms: {}", ManagementFactory.getRuntimeMXBean().getUptime(), what);
        }
    }
}
