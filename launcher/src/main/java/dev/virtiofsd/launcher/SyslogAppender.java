package dev.virtiofsd.launcher;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import jnr.unixsocket.UnixDatagramChannel;
import jnr.unixsocket.UnixSocketAddress;

/**
 * {@code --syslog}: each event goes to the local syslog socket ({@code /dev/log}) as one datagram
 * in the format of glibc's syslog(3), {@code <PRI>Mmm dd hh:mm:ss virtiofsd-java[PID]: message},
 * facility user (as virtiofsd). jnr-unixsocket provides the datagram socket Java lacks.
 */
final class SyslogAppender extends AppenderBase<ILoggingEvent> {
    /** Where the local syslog daemon listens. */
    static final String DEFAULT_SOCKET = "/dev/log";
    /** System property that moves the socket (tests). */
    static final String SOCKET_PROPERTY = "virtiofsd.syslog.socket";

    private static final int FACILITY_USER = 1;
    private static final jnr.posix.POSIX LIBC = jnr.posix.POSIXFactory.getNativePOSIX();
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("MMM ppd HH:mm:ss", Locale.ROOT);

    private final UnixSocketAddress target;
    private final String tag;
    private UnixDatagramChannel channel;
    /** A datagram socket connected to the target (before the sandbox closes), or -1. */
    private volatile int connectedFd = -1;

    SyslogAppender(String socket, String ident, long pid) {
        this.target = new UnixSocketAddress(socket);
        this.tag = ident + "[" + pid + "]: ";
    }

    /** Opens the socket; throws when there is no syslog daemon listening there. */
    void open() throws IOException {
        java.nio.file.Path p = java.nio.file.Paths.get(target.path());
        if (!java.nio.file.Files.exists(p)
                || java.nio.file.Files.isRegularFile(p)
                || java.nio.file.Files.isDirectory(p)) {
            throw new IOException("no syslog socket " + target.path());
        }
        channel = UnixDatagramChannel.open();
    }

    static int severity(Level level) {
        switch (level.toInt()) {
            case Level.ERROR_INT:
                return 3;
            case Level.WARN_INT:
                return 4;
            case Level.INFO_INT:
                return 6;
            default:
                return 7;
        }
    }

    /** The datagram for one event. */
    String format(ILoggingEvent e, ZonedDateTime when) {
        String msg = e.getFormattedMessage();
        if (e.getThrowableProxy() != null) {
            msg = msg + ": " + e.getThrowableProxy().getClassName() + ": "
                    + e.getThrowableProxy().getMessage();
        }
        return "<" + (FACILITY_USER * 8 + severity(e.getLevel())) + ">" + STAMP.format(when) + " " + tag
                + msg.replace('\n', ' ');
    }

    /** The path of the syslog socket. */
    String path() {
        return target.path();
    }

    /**
     * From now on events go to {@code fd}, a datagram socket already connected to the syslog
     * socket: the seccomp filter allows write(2) but not sendto(2), and the sandbox takes the path
     * away. The native bundle makes the fd (the launcher has no native calls of its own).
     */
    void useConnected(int fd) {
        connectedFd = fd;
    }

    @Override
    protected void append(ILoggingEvent e) {
        int fd = connectedFd;
        if (fd >= 0) {
            byte[] b = format(e, ZonedDateTime.now(java.time.ZoneId.systemDefault()))
                    .getBytes(StandardCharsets.UTF_8);
            if (LIBC.write(fd, b, b.length) < 0) {
                addError("syslog write failed: errno " + LIBC.errno());
            }
            return;
        }
        UnixDatagramChannel c = channel;
        if (c == null) {
            return;
        }
        try {
            // sendto each time (jnr's datagram connect does not connect the native socket)
            c.send(
                    ByteBuffer.wrap(format(e, ZonedDateTime.now(java.time.ZoneId.systemDefault()))
                            .getBytes(StandardCharsets.UTF_8)),
                    target);
        } catch (IOException | RuntimeException ex) {
            addError("syslog write failed", ex);
        }
    }

    @Override
    public void stop() {
        super.stop();
        UnixDatagramChannel c = channel;
        channel = null;
        if (c != null) {
            try {
                c.close();
            } catch (IOException e) {
                // closing a datagram socket
            }
        }
    }
}
