package dev.virtiofsd.api.config;

/** Configuration PID {@value #PID}: the /dev/fuse transport (bundle {@code dev.virtiofsd.transport.fusedev}). */
public final class FuseDevConfiguration {
    public static final String PID = "dev.virtiofsd.transport.fusedev";

    /** Directory to mount on; required, no default. */
    public static final String MOUNTPOINT = "mountpoint";

    /** Threads reading requests from /dev/fuse (the launcher's --thread-pool-size when not 0). */
    public static final String THREADS = "threads";

    public static final int THREADS_DEFAULT = 2;

    private FuseDevConfiguration() {}
}
