package dev.virtiofsd.launcher;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The parsed command line. Plain fields: filled by {@link CommandLine}, read by {@link Main}. */
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

    public int fd = -1;
    public String socketGroup = "";
    public int threadPoolSize = 0;
    /** virtiofsd's never|prefer|mandatory ("fallback" is normalised to "prefer"). */
    public String inodeFileHandles = "never";

    public String cache = "auto";
    public boolean xattr;
    public boolean readonly;
    public boolean announceSubmounts = true;
    public String logLevel = "info";
    /** --migration-*. */
    public final MigrationArgs migration = new MigrationArgs();

    public String transport = VHOST_USER;
    public String mountpoint;
    public final List<Path> bundleDirs = new ArrayList<>();
    /** Explicit --strategy NAME, or null. */
    public String strategy;

    /** Deprecation notes to log once logging is set up. */
    public final List<String> warnings = new ArrayList<>();

    /** The inode-identity strategy name: --strategy, else mapped from --inode-file-handles. */
    public String strategyName() {
        if (strategy != null) {
            return strategy;
        }
        switch (inodeFileHandles) {
            case "prefer":
                return "handle-preferred";
            case "mandatory":
                return "handle-only";
            default:
                return "fd";
        }
    }

    /** Threads for the fuse-dev transport: the pool size when given, else two readers. */
    public int fuseDevThreads() {
        return threadPoolSize > 0 ? threadPoolSize : 2;
    }
}
