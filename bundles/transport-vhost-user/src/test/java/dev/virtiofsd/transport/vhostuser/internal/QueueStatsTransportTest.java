package dev.virtiofsd.transport.vhostuser.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.virtiofsd.api.introspect.QueueFigures;
import dev.virtiofsd.api.introspect.QueueStats;
import dev.virtiofsd.frontend.FuseReply;
import dev.virtiofsd.frontend.VhostUserFrontend;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The queue threads' figures end to end: the DS component serves a socket, the in-process front end
 * sends requests, and the component's {@link QueueStats} shows what each queue thread did.
 */
@Timeout(60)
class QueueStatsTransportTest {
    /** Requests sent one at a time on queue 1, then as many again in flight together. */
    private static final int REQUESTS = 200;

    @TempDir
    Path dir;

    private final StubFuseServer server = new StubFuseServer();
    private final VhostUserTransportTest.Control control = new VhostUserTransportTest.Control();
    private VhostUserComponent component;
    private VhostUserFrontend frontend;
    private ListAppender<ILoggingEvent> log;
    private Logger queueLogger;

    @BeforeEach
    void captureQueueLog() {
        queueLogger = (Logger) LoggerFactory.getLogger(Virtqueue.class);
        log = new ListAppender<>();
        log.start();
        queueLogger.addAppender(log);
        queueLogger.setLevel(Level.INFO);
        queueLogger.setAdditive(false);
    }

    @AfterEach
    void tearDown() {
        if (frontend != null) {
            frontend.close();
        }
        if (component != null) {
            component.deactivate();
        }
        queueLogger.detachAppender(log);
        queueLogger.setAdditive(true);
        queueLogger.setLevel(null);
    }

    private VhostUserComponent.Config config(Path socket) {
        return (VhostUserComponent.Config) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {VhostUserComponent.Config.class}, (p, m, args) -> {
                    switch (m.getName()) {
                        case "socket_path":
                            return socket.toString();
                        case "fd":
                            return -1;
                        case "socket_group":
                        case "tag":
                            return "";
                        case "thread_pool_size":
                            return 0;
                        case "queues":
                            return VhostUserOptions.DEFAULT_MAX_QUEUES;
                        case "confined":
                            return false;
                        default:
                            throw new UnsupportedOperationException(m.getName());
                    }
                });
    }

    private static byte[] body(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) i;
        }
        return b;
    }

    /** The figures of queue {@code index} once it has served {@code atLeast} chains (they may lag a little). */
    private static QueueFigures awaitServed(QueueStats stats, int index, long atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        QueueFigures q = stats.queues().get(index);
        while (q.served() < atLeast && System.nanoTime() < deadline) {
            Thread.sleep(10);
            q = stats.queues().get(index);
        }
        return q;
    }

    @Test
    void theComponentShowsWhatEachQueueThreadServedWatchedAndSlept() throws Exception {
        Path socket = dir.resolve("vu.sock");
        component = new VhostUserComponent(server, control, config(socket));
        QueueStats stats = component;
        assertEquals(List.of(), stats.queues(), "no queues before a front end connects");

        frontend = VhostUserFrontend.connect(socket.toString(), new VhostUserFrontend.Options());
        VhostUserFrontend f = frontend;
        assertEquals(0, f.init().error());
        for (int i = 0; i < REQUESTS; i++) {
            FuseReply r = f.request(1, f.fuse().write(1, 2, i, body(64)), 256);
            assertEquals(0, r.error(), r.toString());
        }
        List<Integer> tickets = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            tickets.add(f.submit(1, f.fuse().write(1, 2, i, body(64)), 256));
        }
        for (int t : tickets) {
            assertNotNull(f.await(1, t, 10_000));
        }
        assertEquals(0, f.forget(42, 1).len());

        long expected = 1L + REQUESTS + tickets.size(); // INIT too
        QueueFigures q1 = awaitServed(stats, 1, expected);
        QueueFigures q0 = awaitServed(stats, 0, 1);
        List<QueueFigures> all = stats.queues();
        assertEquals(VhostUserOptions.DEFAULT_MAX_QUEUES, all.size());
        for (int i = 0; i < all.size(); i++) {
            assertEquals(i, all.get(i).index());
        }
        assertTrue(q1.running(), q1.toString());
        assertEquals(expected, q1.served(), "every chain counted once: " + q1);
        assertTrue(q1.watches() >= 1, "the ring emptied and was watched: " + q1);
        assertTrue(q1.caught() <= q1.watches(), q1.toString());
        assertTrue(q1.watchNanos() > 0, q1.toString());
        assertEquals(q1.caughtWatchNanos() + q1.missedWatchNanos(), q1.watchNanos());
        assertTrue(q1.sleeps() >= 1, "it waited for kicks: " + q1);
        assertTrue(q1.sleepCostNanos() > 0, q1.toString());
        assertEquals(1, q0.served(), "the FORGET, on the hiprio queue: " + q0);
        QueueFigures unused = all.get(all.size() - 1);
        assertFalse(unused.running(), "the front end set up no such queue: " + unused);
        assertEquals(0, unused.served());

        // GET_VRING_BASE stops the threads: each logs its totals, and the figures stay.
        f.stopRings();
        QueueFigures stopped = stats.queues().get(1);
        assertFalse(stopped.running());
        assertEquals(q1.served(), stopped.served());
        List<String> lines = log.list.stream()
                .filter(e -> e.getLevel() == Level.INFO)
                .map(ILoggingEvent::getFormattedMessage)
                .collect(Collectors.toList());
        String queue1 = lines.stream()
                .filter(l -> l.startsWith("queue 1: "))
                .findFirst()
                .orElse(null);
        assertNotNull(queue1, "queue 1 logged its totals: " + lines);
        assertTrue(
                queue1.matches("queue 1: served " + stopped.served() + " requests; watched " + stopped.watches()
                        + " times, caught " + stopped.caught()
                        + " \\(\\d+\\.\\d%\\), \\d+\\.\\d{3} s watching; slept " + stopped.sleeps()
                        + " times, sleep cost ~\\d+ us(, backing off)?"),
                queue1);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("queue 0: served 1 request;")), lines.toString());
        assertTrue(
                lines.stream().noneMatch(l -> l.startsWith("queue " + unused.index() + ":")),
                "a queue that served nothing logs nothing at INFO: " + lines);
    }

    /** The component is a DS service for QueueStats (as well as the Transport), so control finds it. */
    @Test
    void theComponentIsRegisteredAsQueueStats() throws IOException {
        String name = "/OSGI-INF/" + VhostUserComponent.class.getName() + ".xml";
        try (InputStream in = VhostUserComponent.class.getResourceAsStream(name)) {
            assertNotNull(in, name + " (generated by bnd at process-classes)");
            String xml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(xml.contains("interface=\"" + QueueStats.class.getName() + "\""), xml);
            assertTrue(xml.contains("interface=\"dev.virtiofsd.api.transport.Transport\""), xml);
        }
    }
}
