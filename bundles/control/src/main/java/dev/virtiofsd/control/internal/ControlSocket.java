package dev.virtiofsd.control.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.net.SocketOption;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.Map;
import java.util.Timer;
import java.util.TimerTask;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
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
 */
@Component(configurationPid = ControlSocket.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = ControlSocketConfig.class)
public final class ControlSocket {
    public static final String PID = "dev.virtiofsd.control";
    private static final Logger LOG = LoggerFactory.getLogger(ControlSocket.class);
    private static final int MAX_LINE = 256;
    private static final long CLIENT_TIMEOUT_MILLIS = 30_000;
    private static final Pattern ARG = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    /**
     * Read at class initialization, which loads the JDK's libextnet: inside the sandbox no native
     * library can be loaded any more, and the launcher waits for this socket before it closes.
     */
    private static final SocketOption<UnixDomainPrincipal> PEER_CREDENTIALS = ExtendedSocketOptions.SO_PEERCRED;

    private final CommandProcessor gogo;
    private final Path path;
    private final ServerSocketChannel server;
    private final Thread acceptor;
    private final ExecutorService workers;
    private final Timer timeouts = new Timer("virtiofsd-control-timeouts", true);
    private final String owner;
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
        this.owner = Files.getOwner(Paths.get("/proc/self"), LinkOption.NOFOLLOW_LINKS)
                .getName();
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
    static ServerSocketChannel bindPrivately(Path path) throws IOException {
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
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.bind(UnixDomainSocketAddress.of(bound), 4);
            Files.setPosixFilePermissions(bound, PosixFilePermissions.fromString("rw-------"));
            Files.move(bound, path, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            ch.close();
            Files.deleteIfExists(bound);
            throw e;
        } finally {
            Files.deleteIfExists(tmp);
        }
        return ch;
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
            SocketChannel c;
            try {
                c = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("control socket {}: accept failed: {}", path, e.toString());
                }
                return;
            }
            try {
                workers.execute(() -> serve(c));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                closeQuietly(c);
            }
        }
    }

    private void serve(SocketChannel c) {
        TimerTask timeout = new TimerTask() {
            @Override
            public void run() {
                closeQuietly(c);
            }
        };
        timeouts.schedule(timeout, CLIENT_TIMEOUT_MILLIS);
        try (c) {
            UnixDomainPrincipal peer = c.getOption(PEER_CREDENTIALS);
            UserPrincipal user = peer.user();
            if (!user.getName().equals(owner) && !user.getName().equals("root")) {
                write(c, "ERROR\npermission denied: the daemon runs as " + owner + "\n");
                return;
            }
            String line = readLine(c);
            write(c, answer(line));
        } catch (IOException e) {
            LOG.debug("control socket client: {}", e.toString());
        } finally {
            timeout.cancel();
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
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (CommandSession session = gogo.createSession(new ByteArrayInputStream(new byte[0]), out, out)) {
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

    private static String readLine(SocketChannel c) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(MAX_LINE + 1);
        while (b.hasRemaining()) {
            int n = c.read(b);
            if (n < 0) {
                break;
            }
            byte[] a = b.array();
            for (int i = 0; i < b.position(); i++) {
                if (a[i] == '\n') {
                    return new String(a, 0, i, StandardCharsets.UTF_8);
                }
            }
        }
        if (b.position() > 0 && b.position() <= MAX_LINE) {
            return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
        }
        return null;
    }

    private static void write(SocketChannel c, String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    private static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Deactivate
    void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // closing anyway
        }
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
