package dev.virtiofsd.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import jnr.unixsocket.UnixDatagramChannel;
import jnr.unixsocket.UnixSocketAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --syslog: datagrams in glibc syslog(3) format on a unix datagram socket (a stand-in for /dev/log). */
class SyslogAppenderTest {
    @TempDir
    Path tmp;

    @Test
    void eventsArriveAsSyslogDatagrams() throws Exception {
        Path socket = tmp.resolve("log");
        try (UnixDatagramChannel server = UnixDatagramChannel.open()) {
            server.bind(new UnixSocketAddress(socket.toFile()));
            LoggerContext ctx = new LoggerContext();
            SyslogAppender a = new SyslogAppender(socket.toString(), "virtiofsd-java", 4242);
            a.open();
            a.setContext(ctx);
            a.start();
            ch.qos.logback.classic.Logger logger = ctx.getLogger("Main");
            a.doAppend(new LoggingEvent("x", logger, Level.WARN, "can't {} this", null, new Object[] {"do"}));
            a.doAppend(new LoggingEvent("x", logger, Level.INFO, "serving /srv", null, null));
            a.stop();
            assertTrue(
                    receive(server)
                            .matches(
                                    "<12>[A-Z][a-z]{2} [ 0-9]\\d \\d\\d:\\d\\d:\\d\\d virtiofsd-java\\[4242\\]: can't do this"));
            assertTrue(receive(server).endsWith(" virtiofsd-java[4242]: serving /srv"));
        }
    }

    private static String receive(UnixDatagramChannel server) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(2048);
        server.receive(b);
        b.flip();
        return StandardCharsets.UTF_8.decode(b).toString();
    }

    @Test
    void noSyslogDaemonIsAnErrorAtOpen() {
        SyslogAppender a = new SyslogAppender(tmp.resolve("none").toString(), "virtiofsd-java", 1);
        assertThrows(IOException.class, a::open);
    }

    @Test
    void severities() {
        assertEquals(3, SyslogAppender.severity(Level.ERROR));
        assertEquals(4, SyslogAppender.severity(Level.WARN));
        assertEquals(6, SyslogAppender.severity(Level.INFO));
        assertEquals(7, SyslogAppender.severity(Level.DEBUG));
    }
}
