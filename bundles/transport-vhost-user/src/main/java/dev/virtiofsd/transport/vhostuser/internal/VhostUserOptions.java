package dev.virtiofsd.transport.vhostuser.internal;

/**
 * How the vhost-user transport listens and serves.
 *
 * @param socketPath     where to listen (used when {@code fd} is -1; also names the pid file)
 * @param fd             an inherited, already listening socket, or -1
 * @param socketGroup    group to give the socket file ("" keeps ours)
 * @param threadPoolSize worker threads; 0 serves requests on the queue threads
 * @param maxQueues      virtqueues offered: 1 hiprio + request queues
 * @param tag            the tag of the virtio-fs config space (VHOST_USER_PROTOCOL_F_CONFIG is
 *                       offered only with one), or null
 */
public record VhostUserOptions(
        String socketPath, int fd, String socketGroup, int threadPoolSize, int maxQueues, String tag) {
    /** Queues offered unless told otherwise: hiprio plus 16 request queues. */
    public static final int DEFAULT_MAX_QUEUES = 17;

    public VhostUserOptions {
        if ((socketPath == null || socketPath.isEmpty()) && fd < 0) {
            throw new IllegalArgumentException("a socket path or an inherited fd is required");
        }
        if (threadPoolSize < 0) {
            throw new IllegalArgumentException("thread pool size " + threadPoolSize);
        }
        if (maxQueues < 2 || maxQueues > 256) {
            throw new IllegalArgumentException("queue count " + maxQueues + " (2..256)");
        }
        socketGroup = socketGroup == null ? "" : socketGroup;
        tag = tag == null || tag.isEmpty() ? null : tag;
        if (tag != null && tag.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > VhostUserDevice.TAG_MAX) {
            throw new IllegalArgumentException("tag longer than " + VhostUserDevice.TAG_MAX + " bytes");
        }
    }

    public VhostUserOptions(String socketPath, int fd, String socketGroup, int threadPoolSize, int maxQueues) {
        this(socketPath, fd, socketGroup, threadPoolSize, maxQueues, null);
    }

    public VhostUserOptions tag(String t) {
        return new VhostUserOptions(socketPath, fd, socketGroup, threadPoolSize, maxQueues, t);
    }

    public static VhostUserOptions socket(String path) {
        return new VhostUserOptions(path, -1, "", 0, DEFAULT_MAX_QUEUES);
    }

    public VhostUserOptions threadPoolSize(int n) {
        return new VhostUserOptions(socketPath, fd, socketGroup, n, maxQueues, tag);
    }

    public VhostUserOptions maxQueues(int n) {
        return new VhostUserOptions(socketPath, fd, socketGroup, threadPoolSize, n, tag);
    }
}
