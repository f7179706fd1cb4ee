package dev.virtiofsd.transport.fusedev.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.SingleSegment;
import dev.virtiofsd.api.transport.FuseServer;
import dev.virtiofsd.api.transport.FuseSession;
import dev.virtiofsd.api.transport.FuseWorker;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.Statx;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves a {@link FuseServer} through the host kernel's {@code /dev/fuse}: mounts a FUSE filesystem
 * at a mountpoint and answers the kernel's requests with N reader threads, each with its own
 * {@link FuseWorker} and native request/reply buffers.
 *
 * <p>Lifecycle: {@link #start()} opens {@code /dev/fuse}, mounts and starts the readers;
 * {@link #close()} unmounts (lazily), waits for the readers and closes the session. If the
 * filesystem is unmounted from outside, the readers see ENODEV, exit, and the
 * {@linkplain #onUnmounted(Runnable) unmount listener} runs.
 */
public final class FuseDevTransport implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FuseDevTransport.class);

    /** Largest WRITE payload; the kernel sizes its requests (and READs, via max_read) after it. */
    public static final int MAX_WRITE = 1 << 20;
    /**
     * The kernel hands out one whole request per read() and refuses buffers smaller than
     * in_header + write_in + max_write (and 8 KiB); a page of slack covers every header.
     */
    static final int REQUEST_BUFFER_SIZE = MAX_WRITE + 8192;
    /** Largest reply: a READ of max_write bytes (or max_read) plus the out header. */
    static final int REPLY_BUFFER_SIZE = MAX_WRITE + 4096;
    /** How long close() waits for readers after the lazy unmount before aborting the connection. */
    private static final long UNMOUNT_GRACE_MILLIS = 2000;

    private final FuseServer server;
    private final Path mountpoint;
    private final int threads;
    private final List<Thread> readers = new ArrayList<>();
    private final AtomicInteger running = new AtomicInteger();
    private volatile boolean closing;
    private volatile Runnable unmountListener;
    private int devFd = -1;
    private long connectionId = -1;
    private boolean mounted;
    private FuseSession session;

    public FuseDevTransport(FuseServer server, Path mountpoint, int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.server = server;
        this.mountpoint = mountpoint.toAbsolutePath();
        this.threads = threads;
    }

    public Path mountpoint() {
        return mountpoint;
    }

    /** Runs once when the kernel ends the connection (umount from outside, abort) while not closing. */
    public FuseDevTransport onUnmounted(Runnable listener) {
        this.unmountListener = listener;
        return this;
    }

    /** Mounts and starts serving; returns once the mount exists (INIT is answered by a reader). */
    public synchronized void start() throws ErrnoException {
        if (devFd >= 0 || closing) {
            throw new IllegalStateException("already started");
        }
        if (!Files.isDirectory(mountpoint)) {
            throw ErrnoException.of(Errno.ENOTDIR, "mountpoint " + mountpoint + " is not a directory");
        }
        devFd = Linux.open("/dev/fuse", Linux.O_RDWR, 0);
        try {
            String data = "fd=" + devFd + ",rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions"
                    + ",max_read=" + MAX_WRITE;
            long flags = Linux.MS_NOSUID | Linux.MS_NODEV;
            try {
                Linux.mount("virtiofsd-java", mountpoint.toString(), "fuse.virtiofsd-java", flags, data);
            } catch (ErrnoException e) {
                // Kernels without subtype support refuse "fuse.X"; plain "fuse" always works.
                if (e.errno() != Errno.ENODEV && e.errno() != Errno.EINVAL) {
                    throw e;
                }
                Linux.mount("virtiofsd-java", mountpoint.toString(), "fuse", flags, data);
            }
            mounted = true;
            connectionId = connectionIdOf(mountpoint);
            session = server.openSession(MAX_WRITE);
            running.set(threads);
            for (int i = 0; i < threads; i++) {
                Thread t = new Thread(this::serve, "fuse-dev-" + i);
                t.setDaemon(true);
                readers.add(t);
                t.start();
            }
            LOG.debug("mounted {} (fuse connection {}) with {} reader threads", mountpoint, connectionId, threads);
        } catch (ErrnoException | RuntimeException e) {
            teardown();
            throw e;
        }
    }

    /**
     * The fusectl connection id is the device number of the mount's superblock; stat'ing the
     * mountpoint would block until INIT is answered, so it is read from /proc/self/mountinfo.
     */
    private long connectionIdOf(Path mp) {
        try {
            String target = mp.toString();
            long id = -1;
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)) {
                String[] f = line.split(" ", -1);
                if (f.length > 4 && unescape(f[4]).equals(target)) {
                    String[] mm = f[2].split(":", -1);
                    id = Statx.makedev(Long.parseLong(mm[0]), Long.parseLong(mm[1]));
                }
            }
            return id;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static String unescape(String s) {
        return s.replace("\\040", " ")
                .replace("\\011", "\t")
                .replace("\\012", "\n")
                .replace("\\134", "\\");
    }

    private void serve() {
        FuseWorker worker;
        long in = 0;
        long out = 0;
        boolean lost = false;
        try {
            worker = session.newWorker();
            in = NativeMemory.allocate(REQUEST_BUFFER_SIZE);
            out = NativeMemory.allocate(REPLY_BUFFER_SIZE);
            SingleSegment request = new SingleSegment(in, REQUEST_BUFFER_SIZE);
            SingleSegment reply = new SingleSegment(out, REPLY_BUFFER_SIZE);
            while (!closing) {
                int n;
                try {
                    n = Linux.read(devFd, in, REQUEST_BUFFER_SIZE);
                } catch (ErrnoException e) {
                    int errno = e.errno();
                    // ENOENT: the request was interrupted before we got it; retry like libfuse.
                    if (errno == Errno.EINTR || errno == Errno.EAGAIN || errno == Errno.ENOENT) {
                        continue;
                    }
                    if (errno == Errno.ENODEV) {
                        lost = !closing;
                        break;
                    }
                    if (!closing) {
                        LOG.error("read /dev/fuse failed: {}; reader thread exits", Errno.name(errno));
                        lost = true;
                    }
                    break;
                }
                request.setLength(n);
                reply.setLength(REPLY_BUFFER_SIZE);
                int len = worker.handle(request, reply);
                if (len > 0) {
                    try {
                        Linux.write(devFd, out, len);
                    } catch (ErrnoException e) {
                        // ENOENT: the kernel gave up on the request (interrupted); nothing to do.
                        if (e.errno() == Errno.ENODEV) {
                            lost = !closing;
                            break;
                        }
                        if (e.errno() != Errno.ENOENT) {
                            LOG.debug("reply write to /dev/fuse failed: {}", Errno.name(e.errno()));
                        }
                    }
                }
            }
        } catch (RuntimeException | Error e) {
            LOG.error("fuse-dev reader thread failed", e);
            lost = !closing;
        } finally {
            NativeMemory.free(in);
            NativeMemory.free(out);
            if (running.decrementAndGet() == 0 && lost && !closing) {
                LOG.info("{} was unmounted", mountpoint);
                Runnable l = unmountListener;
                if (l != null) {
                    l.run();
                }
            }
        }
    }

    /** Unmounts (lazily), waits for the readers, closes /dev/fuse and the session. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closing) {
                return;
            }
            closing = true;
        }
        teardown();
    }

    private synchronized void teardown() {
        closing = true;
        if (mounted) {
            try {
                Linux.umount2(mountpoint.toString(), Linux.MNT_DETACH);
            } catch (ErrnoException e) {
                // EINVAL: already unmounted from outside.
                if (e.errno() != Errno.EINVAL) {
                    LOG.warn("{}", e.getMessage());
                }
            }
            mounted = false;
        }
        // A detached superblock lives on while files in it stay open, and so do blocked readers:
        // after a grace period, abort the connection, which fails every read with ENODEV.
        if (!joinReaders(UNMOUNT_GRACE_MILLIS)) {
            abortConnection();
            if (!joinReaders(UNMOUNT_GRACE_MILLIS)) {
                LOG.warn("fuse-dev reader threads did not stop");
            }
        }
        readers.clear();
        if (devFd >= 0) {
            Linux.close(devFd);
            devFd = -1;
        }
        if (session != null) {
            session.close();
            session = null;
        }
    }

    private boolean joinReaders(long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        for (Thread t : readers) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (t == Thread.currentThread()) {
                continue;
            }
            try {
                t.join(Math.max(1, left));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            if (t.isAlive()) {
                return false;
            }
        }
        return true;
    }

    private void abortConnection() {
        if (connectionId < 0) {
            return;
        }
        Path fusectl = Path.of("/sys/fs/fuse/connections");
        Path connection = fusectl.resolve(Long.toString(connectionId));
        try {
            if (!Files.exists(connection)) {
                Linux.mount("fusectl", fusectl.toString(), "fusectl", 0, null);
            }
            Files.writeString(connection.resolve("abort"), "1");
            LOG.debug("aborted fuse connection {}", connectionId);
        } catch (Exception e) {
            LOG.warn("cannot abort fuse connection {}: {}", connectionId, e.toString());
        }
    }
}
