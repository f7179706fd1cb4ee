package dev.virtiofsd.control.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.config.ControlConfiguration;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.UnixSocket;
import java.io.ByteArrayInputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.InvocationTargetException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Timer;
import java.util.TimerTask;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control socket ({@code --control-socket PATH}): a UNIX stream socket of mode 0600 on which
 * {@code virtiofsd-java-ctl} sends one line, {@code COMMAND [ARG]}, and reads the answer: a first line
 * {@code OK} or {@code ERROR}, then the command's output or one line saying what went wrong.
 *
 * <p>Only the commands of {@link ControlCommands} run, through Felix Gogo, with arguments of letters,
 * digits, '.', '_' and '-': the socket is no general Gogo shell. Only a peer with the daemon's own
 * user (or root) is served, checked with SO_PEERCRED on top of the file mode. The socket is bound
 * in a private directory, made 0600 and only then renamed into place, so that it never exists with
 * a wider mode (the passthrough sets the process umask to 0).
 *
 * <p>The socket works through the native bundle, not JDK channels: inside the sandbox a JDK
 * {@code SO_PEERCRED} would look the peer's user name up (getpwuid, whose nscd client makes a
 * socket, which seccomp punishes); here the peer's uid stays a number, accept4 and read/write are
 * what the vhost-user transport uses too, and getsockopt(SO_PEERCRED) is the one addition to the
 * seccomp allowlist. The socket is listening when the component is active; the launcher waits for
 * it before it closes the sandbox.
 */
@Component(configurationPid = ControlSocket.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = ControlSocketConfig.class)
public final class ControlSocket {
    public static final String PID = ControlConfiguration.PID;
    private static final Logger LOG = LoggerFactory.getLogger(ControlSocket.class);
    private static final int MAX_LINE = 256;
    private static final long CLIENT_TIMEOUT_MILLIS = 30_000;
    private static final Pattern ARG = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    /** fd 2 itself (not System.err, which Gogo redirects per thread); closing a session leaves it open. */
    private static final OutputStream DAEMON_STDERR = new FilterOutputStream(new FileOutputStream(FileDescriptor.err)) {
        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    };

    private final CommandProcessor gogo;
    private final Path path;
    /** The listening socket's fd. */
    private final int server;

    private final Thread acceptor;
    private final ExecutorService workers;
    private final Timer timeouts = new Timer("virtiofsd-control-timeouts", true);
    private final String owner;
    private final int ownerUid;
    private volatile boolean closed;

    @Activate
    public ControlSocket(ControlSocketConfig config, @Reference(name = "gogo") CommandProcessor gogo)
            throws IOException {
        this.gogo = gogo;
        String p = config.socket_path();
        if (p == null || p.isEmpty()) {
            throw new IllegalArgumentException("socket.path is not set");
        }
        this.path = Paths.get(p).toAbsolutePath();
        // Names looked up now, before the sandbox; the check per client compares numbers.
        this.owner = Files.getOwner(Paths.get("/proc/self"), LinkOption.NOFOLLOW_LINKS)
                .getName();
        this.ownerUid = (Integer) Files.getAttribute(Paths.get("/proc/self"), "unix:uid", LinkOption.NOFOLLOW_LINKS);
        this.server = bindPrivately(path);
        this.workers = new ThreadPoolExecutor(
                1, 2, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(16), r -> daemonThread(r, "virtiofsd-control"));
        this.acceptor = daemonThread(this::acceptLoop, "virtiofsd-control-accept");
        acceptor.start();
        LOG.info("control socket {}", path);
    }

    private static Thread daemonThread(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Binds in a fresh 0700 directory beside {@code path}, chmods 0600, renames into place. */
    static int bindPrivately(Path path) throws IOException {
        Path dir = path.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IOException("control socket " + path + ": directory " + dir + " does not exist");
        }
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            if (!isStaleSocket(path)) {
                throw new IOException("control socket " + path + ": exists and is not a stale socket");
            }
            Files.delete(path);
        }
        Path tmp = Files.createTempDirectory(
                dir,
                ".virtiofsd-ctl-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path bound = tmp.resolve("s");
        int fd = -1;
        try {
            fd = UnixSocket.listen(bound.toString(), 4, 0600, -1);
            Files.move(bound, path, StandardCopyOption.ATOMIC_MOVE);
        } catch (ErrnoException e) {
            throw new IOException("control socket " + path + ": " + e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            Linux.close(fd);
            Files.deleteIfExists(bound);
            throw e;
        } finally {
            Files.deleteIfExists(tmp);
        }
        return fd;
    }

    /** A socket file nobody listens on any more (a daemon that was killed). */
    private static boolean isStaleSocket(Path path) {
        if (!"socket".equals(fileType(path))) {
            return false;
        }
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            return !c.isConnected();
        } catch (IOException e) {
            return true;
        }
    }

    private static String fileType(Path p) {
        try {
            Object mode = Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return ((Integer) mode & 0170000) == 0140000 ? "socket" : "other";
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    private void acceptLoop() {
        while (!closed) {
            int c;
            try {
                c = UnixSocket.accept(server);
            } catch (ErrnoException e) {
                if (!closed) {
                    LOG.warn("control socket {}: accept failed: {}", path, e.getMessage());
                }
                return;
            }
            try {
                workers.execute(() -> serve(c));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                Linux.close(c);
            }
        }
    }

    private void serve(int c) {
        // A client that sends nothing is cut off: shutdown makes the blocked read return 0.
        TimerTask timeout = new TimerTask() {
            @Override
            public void run() {
                shutdownQuietly(c);
            }
        };
        timeouts.schedule(timeout, CLIENT_TIMEOUT_MILLIS);
        try {
            int uid = UnixSocket.peerCredentials(c)[1];
            if (uid != ownerUid && uid != 0) {
                write(c, "ERROR\npermission denied: the daemon runs as " + owner + "\n");
                return;
            }
            String line = readLine(c);
            write(c, answer(line));
        } catch (ErrnoException e) {
            LOG.debug("control socket client: {}", e.getMessage());
        } finally {
            timeout.cancel();
            Linux.close(c);
        }
    }

    /** "OK\n" plus the output, or "ERROR\n" plus one line. */
    String answer(String line) {
        if (line == null) {
            return "ERROR\nno command (one line, at most " + MAX_LINE + " bytes)\n";
        }
        String[] words = line.trim().split("\\s+");
        if (words.length == 0 || words[0].isEmpty() || words[0].equals("help")) {
            return "OK\ncommands: strategy [NAME], stats, convert [MAX], bundles, profile, update|stop|start BSN\n";
        }
        Integer maxArgs = ControlCommands.COMMANDS.get(words[0]);
        if (maxArgs == null) {
            return "ERROR\nunknown command " + words[0]
                    + " (commands: strategy, stats, convert, bundles, profile, update, stop, start)\n";
        }
        if (words.length - 1 > maxArgs) {
            return "ERROR\n" + words[0] + " takes at most " + maxArgs + " argument" + (maxArgs == 1 ? "" : "s") + "\n";
        }
        for (int i = 1; i < words.length; i++) {
            if (!ARG.matcher(words[i]).matches()) {
                return "ERROR\nargument " + i + " of " + words[0] + ": letters, digits, '.', '_' and '-' only\n";
            }
        }
        String script = ControlCommands.SCOPE + ":" + String.join(" ", words);
        // The answer is the command's value. Gogo points System.out/err of the thread that runs a
        // command at the session's streams: they lead to the daemon's own stderr, so that what the
        // command logs (e.g. a strategy going away on stop) reaches the daemon log, not a dropped buffer.
        try (CommandSession session =
                gogo.createSession(new ByteArrayInputStream(new byte[0]), DAEMON_STDERR, DAEMON_STDERR)) {
            Object result = session.execute(script);
            String text = result == null ? "" : String.valueOf(result);
            return "OK\n" + text + (text.isEmpty() || text.endsWith("\n") ? "" : "\n");
        } catch (Exception e) {
            return "ERROR\n" + oneLine(cause(e)) + "\n";
        }
    }

    private static Throwable cause(Throwable t) {
        while ((t instanceof InvocationTargetException || t.getClass() == RuntimeException.class)
                && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static String oneLine(Throwable t) {
        String m = t.getMessage();
        if (m == null || m.isEmpty()) {
            m = t.getClass().getSimpleName();
        }
        return m.replaceAll("\\s*\\R\\s*", " ").trim();
    }

    /** One line (without its newline) of at most MAX_LINE bytes, or null. */
    private static String readLine(int c) throws ErrnoException {
        byte[] a = new byte[MAX_LINE + 1];
        int have = 0;
        long buf = NativeMemory.allocate(a.length);
        try {
            while (have < a.length) {
                int n = read(c, buf, a.length - have);
                if (n == 0) {
                    break;
                }
                NativeMemory.getBytes(buf, a, have, n);
                for (int i = have; i < have + n; i++) {
                    if (a[i] == '\n') {
                        return new String(a, 0, i, StandardCharsets.UTF_8);
                    }
                }
                have += n;
            }
        } finally {
            NativeMemory.free(buf);
        }
        if (have > 0 && have <= MAX_LINE) {
            return new String(a, 0, have, StandardCharsets.UTF_8);
        }
        return null;
    }

    private static int read(int c, long buf, int len) throws ErrnoException {
        while (true) {
            try {
                return Linux.read(c, buf, len);
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EINTR) {
                    throw e;
                }
            }
        }
    }

    private static void write(int c, String s) throws ErrnoException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        long buf = NativeMemory.allocate(Math.max(1, b.length));
        try {
            NativeMemory.putBytes(buf, b, 0, b.length);
            for (int off = 0; off < b.length; ) {
                try {
                    off += Linux.write(c, buf + off, b.length - off);
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.EINTR) {
                        throw e;
                    }
                }
            }
        } finally {
            NativeMemory.free(buf);
        }
    }

    private static void shutdownQuietly(int c) {
        try {
            Linux.shutdown(c, 2);
        } catch (ErrnoException e) {
            // gone already
        }
    }

    @Deactivate
    void close() {
        closed = true;
        // shutdown wakes the acceptor blocked in accept4 (EINVAL), then the fd can go
        shutdownQuietly(server);
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Linux.close(server);
        timeouts.cancel();
        workers.shutdownNow();
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.debug("control socket {}: {}", path, e.toString());
        }
    }

    /** For tests. */
    static Map<String, Integer> commands() {
        return ControlCommands.COMMANDS;
    }
}
