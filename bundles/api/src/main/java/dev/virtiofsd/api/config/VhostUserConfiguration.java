package dev.virtiofsd.api.config;

/** Configuration PID {@value #PID}: the vhost-user transport (bundle {@code dev.virtiofsd.transport.vhostuser}). */
public final class VhostUserConfiguration {
    public static final String PID = "dev.virtiofsd.transport.vhostuser";

    /** UNIX socket to listen on; empty with {@link #FD}. */
    public static final String SOCKET_PATH = "socket.path";

    public static final String SOCKET_PATH_DEFAULT = "";

    /** An inherited listening socket (--fd), -1 for none. */
    public static final String FD = "fd";

    public static final int FD_DEFAULT = -1;

    /** Group owning the socket file, empty for the daemon's. */
    public static final String SOCKET_GROUP = "socket.group";

    public static final String SOCKET_GROUP_DEFAULT = "";

    /** Request worker threads; 0 serves on the queue threads (virtiofsd's --thread-pool-size default). */
    public static final String THREAD_POOL_SIZE = "thread.pool.size";

    public static final int THREAD_POOL_SIZE_DEFAULT = 0;

    /** The tag advertised in the device's config space (--tag), empty for none. */
    public static final String TAG = "tag";

    public static final String TAG_DEFAULT = "";

    /** The daemon confines itself when the transport reports ready: the socket file is out of reach at exit. */
    public static final String CONFINED = "confined";

    public static final boolean CONFINED_DEFAULT = false;

    private VhostUserConfiguration() {}
}
