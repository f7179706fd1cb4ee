package dev.virtiofsd.control.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.introspect.QueueFigures;
import dev.virtiofsd.api.introspect.QueueStats;
import java.lang.reflect.Field;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The {@code stats} command's {@code "queues"} array, from the transport's {@link QueueStats} service. */
class StatsQueuesTest {
    private final ControlCommands commands = new ControlCommands(null);

    /** What DS does when the service comes: sets the dynamic reference. */
    private void bind(QueueStats stats) throws ReflectiveOperationException {
        Field f = ControlCommands.class.getDeclaredField("queues");
        f.setAccessible(true);
        f.set(commands, stats);
    }

    @Test
    void statsListsEveryQueueWithItsFigures() throws Exception {
        bind(() -> List.of(
                new QueueFigures(0, true, 3, 2, 1, 100, 200, 5, 9_000, false),
                new QueueFigures(1, false, 40213, 39000, 1200, 20_000_000, 400_000_000, 37800, 9_200, true)));
        String json = commands.stats();
        assertTrue(
                json.endsWith(",\"queues\":["
                        + "{\"index\":0,\"running\":true,\"served\":3,\"watches\":2,\"caught\":1,\"watchNanos\":300,"
                        + "\"caughtWatchNanos\":100,\"missedWatchNanos\":200,\"sleeps\":5,\"sleepCostNanos\":9000,"
                        + "\"backingOff\":false},"
                        + "{\"index\":1,\"running\":false,\"served\":40213,\"watches\":39000,\"caught\":1200,"
                        + "\"watchNanos\":420000000,\"caughtWatchNanos\":20000000,\"missedWatchNanos\":400000000,"
                        + "\"sleeps\":37800,\"sleepCostNanos\":9200,\"backingOff\":true}]}"),
                json);
        assertBalanced(json);
    }

    @Test
    void withoutATransportServiceTheQueuesArrayIsEmpty() {
        String json = commands.stats();
        assertTrue(json.endsWith(",\"queues\":[]}"), json);
        assertBalanced(json);
    }

    @Test
    void theMXBeansAndStatsShareTheQueueFigures() throws Exception {
        QueueFigures q = new QueueFigures(1, true, 7, 0, 0, 0, 0, 1, 3_000, false);
        bind(() -> List.of(q));
        assertEquals(List.of(q), commands.figures().queues);
    }

    /** Brackets and braces outside strings nest properly and close at the end: one JSON value. */
    private static void assertBalanced(String json) {
        StringBuilder open = new StringBuilder();
        boolean inString = false;
        for (int i = 0; i < json.length(); i++) {
            char c = json.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                open.append(c);
            } else if (c == '}' || c == ']') {
                char expected = c == '}' ? '{' : '[';
                assertTrue(open.length() > 0 && open.charAt(open.length() - 1) == expected, "at " + i + ": " + json);
                open.setLength(open.length() - 1);
                assertTrue(open.length() > 0 || i == json.length() - 1, "one value: " + json);
            }
        }
        assertEquals(0, open.length(), json);
    }
}
