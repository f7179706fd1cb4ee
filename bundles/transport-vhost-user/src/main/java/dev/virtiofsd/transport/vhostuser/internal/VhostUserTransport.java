package dev.virtiofsd.transport.vhostuser.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.introspect.QueueFigures;
import dev.virtiofsd.api.introspect.QueueStats;
import dev.virtiofsd.api.transport.DaemonControl;
import dev.virtiofsd.api.transport.FuseServer;
import dev.virtiofsd.api.transport.Transport;
import dev.virtiofsd.linux.Accounts;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.UnixSocket;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one vhost-user front end (QEMU) on a UNIX socket, like virtiofsd: listen, accept one
 * connection, serve it until it goes away, then ask the daemon to stop.
 */
public final class VhostUserTransport implements Transport, QueueStats, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(VhostUserTransport.class);

    private final FuseServer server;
    private final VhostUserOptions options;
    private final DaemonControl control;
    private int listenFd = -1;
    private int pidFd = -1;
    private Path pidFile;
    private boolean ownsSocketFile;
    private Thread thread;
    private volatile VhostUserDevice device;
    private volatile boolean closing;

    /** Set when the daemon confines itself once we report ready: the socket's path is out of its reach then. */
    private final boolean confined;

    public VhostUserTransport(FuseServer server, VhostUserOptions options, DaemonControl control) {
        this(server, options, control, false);
    }

    /**
     * @param confined the daemon closes its sandbox (namespace or chroot) while {@link
     *     DaemonControl#ready} runs: from then on the socket file and its .pid file cannot be named,
     *     so they are left at exit (as virtiofsd leaves them); the next daemon on that path replaces
     *     them once it holds the .pid lock
     */
    public VhostUserTransport(FuseServer server, VhostUserOptions options, DaemonControl control, boolean confined) {
        this.server = server;
        this.options = options;
        this.control = control;
        this.confined = confined;
    }

    @Override
    public String name() {
        return "vhost-user";
    }

    /** The device of the accepted connection, or null before a front end connected. */
    public VhostUserDevice device() {
        return device;
    }

    /** The queues of the connected front end's device, as they are now; empty before one connected. */
    @Override
    public List<QueueFigures> queues() {
        VhostUserDevice d = device;
        return d == null ? List.of() : d.queueFigures();
    }

    /**
     * Starts listening (or takes the inherited listening fd), then accepts and serves one front
     * end on a background thread. Returns once the socket accepts connections.
     */
    public synchronized void start() throws ErrnoException {
        String what;
        if (options.fd() >= 0) {
            listenFd = options.fd();
            what = "listening on inherited fd " + listenFd;
        } else {
            String path = options.socketPath();
            lockPidFile(path);
            try {
                // The lock proves no other daemon serves this socket: a leftover file is stale.
                Files.deleteIfExists(Path.of(path));
            } catch (IOException e) {
                throw ErrnoException.of(Errno.EIO, "removing stale socket " + path + ": " + e.getMessage());
            }
            int gid = -1;
            if (!options.socketGroup().isEmpty()) {
                gid = Accounts.groupId(options.socketGroup());
                if (gid < 0) {
                    throw ErrnoException.of(Errno.EINVAL, "unknown group " + options.socketGroup());
                }
            }
            // Whoever connects drives the share as root: owner only, or owner and --socket-group
            // (as virtiofsd: 0700 / 0770), set before listen() so no one gets in meanwhile.
            listenFd = UnixSocket.listen(path, 1, gid >= 0 ? 0770 : 0700, gid);
            ownsSocketFile = !confined;
            what = "listening on " + path;
        }
        LOG.info("vhost-user: {}", what);
        // Before the first accept: the daemon may close its sandbox during this call.
        control.ready(what);
        // The front end (QEMU) connects now, its guest's first request comes only once it booted.
        server.idle();
        thread = new Thread(this::acceptAndServe, "vhost-user");
        thread.setDaemon(true);
        thread.start();
    }

    /** Writes {@code <socket>.pid} under an exclusive lock, so that two daemons never share a socket. */
    private void lockPidFile(String socketPath) throws ErrnoException {
        pidFile = Path.of(socketPath + ".pid");
        int fd = Linux.open(pidFile.toString(), Linux.O_RDWR | Linux.O_CREAT, 0600);
        try {
            Linux.flock(fd, Linux.LOCK_EX | Linux.LOCK_NB);
        } catch (ErrnoException e) {
            Linux.close(fd);
            pidFile = null;
            if (e.errno() == Errno.EAGAIN) {
                throw ErrnoException.of(Errno.EADDRINUSE, "another daemon holds " + socketPath + ".pid");
            }
            throw e;
        }
        byte[] pid = (Linux.getpid() + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        long b = NativeMemory.allocate(pid.length);
        try {
            NativeMemory.putBytes(b, pid, 0, pid.length);
            Linux.ftruncate(fd, 0);
            Linux.pwrite(fd, b, pid.length, 0);
        } finally {
            NativeMemory.free(b);
        }
        pidFd = fd;
    }

    private void acceptAndServe() {
        String reason;
        int status = 0;
        try {
            int conn = UnixSocket.accept(listenFd);
            LOG.info("vhost-user: front end connected");
            // virtiofsd serves a single front end: stop listening.
            closeListener();
            VhostUserDevice d = new VhostUserDevice(
                    new UnixSocket(conn), server, options.maxQueues(), options.threadPoolSize(), options.tag());
            device = d;
            if (closing) {
                d.close();
            }
            try {
                d.serve();
            } finally {
                d.release();
            }
            reason = "front end disconnected";
        } catch (ErrnoException e) {
            reason = "vhost-user accept failed: " + e.getMessage();
            status = 1;
        } catch (RuntimeException | Error e) {
            LOG.error("vhost-user transport failed", e);
            reason = "vhost-user transport failed: " + e;
            status = 1;
        }
        if (!closing) {
            closing = true;
            cleanupFiles();
            control.stop(status, reason);
        }
    }

    private synchronized void closeListener() {
        if (listenFd >= 0) {
            Linux.close(listenFd);
            listenFd = -1;
        }
        cleanupSocketFile();
    }

    private synchronized void cleanupSocketFile() {
        if (ownsSocketFile) {
            ownsSocketFile = false;
            try {
                Files.deleteIfExists(Path.of(options.socketPath()));
            } catch (IOException e) {
                LOG.warn("cannot remove {}: {}", options.socketPath(), e.getMessage());
            }
        }
    }

    private synchronized void cleanupFiles() {
        cleanupSocketFile();
        if (pidFd >= 0) {
            try {
                if (!confined) {
                    Files.deleteIfExists(pidFile);
                }
            } catch (IOException e) {
                LOG.warn("cannot remove {}: {}", pidFile, e.getMessage());
            }
            Linux.close(pidFd);
            pidFd = -1;
        }
    }

    /** Stops serving: wakes the accept or the message loop, joins the threads, removes the files. */
    @Override
    public void close() {
        closing = true;
        Thread t;
        synchronized (this) {
            t = thread;
            if (listenFd >= 0) {
                try {
                    // Makes a blocked accept return.
                    Linux.shutdown(listenFd, 2);
                } catch (ErrnoException e) {
                    // not blocked
                }
            }
        }
        VhostUserDevice d = device;
        if (d != null) {
            d.close();
        }
        if (t != null) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            if (listenFd >= 0 && options.fd() < 0) {
                Linux.close(listenFd);
            }
            listenFd = -1;
        }
        cleanupFiles();
    }
}
