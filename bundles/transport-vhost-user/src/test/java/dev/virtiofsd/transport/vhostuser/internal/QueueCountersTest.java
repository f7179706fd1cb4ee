package dev.virtiofsd.transport.vhostuser.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.virtiofsd.api.introspect.QueueFigures;
import org.junit.jupiter.api.Test;

class QueueCountersTest {
    @Test
    void countsRequestsAndSleeps() {
        QueueCounters c = new QueueCounters();
        for (int i = 0; i < 7; i++) {
            c.served();
        }
        c.sleeping();
        c.sleeping();
        QueueFigures f = c.figures(3, false);
        assertEquals(3, f.index());
        assertEquals(false, f.running());
        assertEquals(7, f.served());
        assertEquals(2, f.sleeps());
        assertEquals(0, f.watches());
    }

    @Test
    void theStopLineSaysWhatThisThreadDidSinceItStarted() {
        QueueFigures start = new QueueFigures(1, true, 100, 50, 10, 1_000, 2_000, 40, 3_000, false);
        QueueFigures end = new QueueFigures(
                1,
                false,
                100 + 40213,
                50 + 39000,
                10 + 1200,
                1_000 + 20_000_000,
                2_000 + 400_000_000,
                40 + 37800,
                9_200,
                false);
        assertEquals(
                "queue 1: served 40213 requests; watched 39000 times, caught 1200 (3.1%), 0.420 s watching;"
                        + " slept 37800 times, sleep cost ~9 us",
                QueueCounters.stopLine(start, end));
    }

    @Test
    void theStopLineOfAThreadThatNeverWatchedSaysSoAndNamesABackOff() {
        QueueFigures zero = new QueueFigures(0, true, 0, 0, 0, 0, 0, 0, 3_000, false);
        QueueFigures end = new QueueFigures(0, false, 2, 0, 0, 0, 0, 3, 3_000, true);
        assertEquals(
                "queue 0: served 2 requests; watched 0 times, caught 0 (0.0%), 0.000 s watching;"
                        + " slept 3 times, sleep cost ~3 us, backing off",
                QueueCounters.stopLine(zero, end));
    }
}
