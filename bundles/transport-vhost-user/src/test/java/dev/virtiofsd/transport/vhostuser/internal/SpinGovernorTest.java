package dev.virtiofsd.transport.vhostuser.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.introspect.QueueFigures;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SpinGovernorTest {
    private static final long LIMIT = 50_000;
    private static final long SLEEP = 3_000;

    @Test
    void offWhenTheLimitIsZero() {
        SpinGovernor g = new SpinGovernor(0, SLEEP);
        assertEquals(0, g.budget());
        assertTrue(!g.sampleNextSleep(), "no sleep timing when polling is off");
    }

    @Test
    void aWatchNeverLastsLongerThanASleepCosts() {
        SpinGovernor g = new SpinGovernor(LIMIT, SLEEP);
        assertEquals(SLEEP, g.budget());
        g.slept(1_000);
        assertTrue(g.budget() < SLEEP && g.budget() > 1_000, "moves towards the measured cost: " + g.budget());
        SpinGovernor small = new SpinGovernor(2_000, SLEEP);
        assertEquals(2_000, small.budget(), "nor longer than the limit");
    }

    @Test
    void aDriverThatIsAlwaysCaughtEarlyKeepsTheWatch() {
        SpinGovernor g = new SpinGovernor(LIMIT, SLEEP);
        for (int i = 0; i < 100_000; i++) {
            long b = g.budget();
            assertEquals(SLEEP, b, "idle period " + i);
            g.watched(true, 500);
        }
        assertEquals(SpinGovernor.DEBT_SLEEPS * SLEEP, g.credit(), "credit capped");
    }

    @Test
    void aSlowDriverBacksOffUntilWatchingCostsAlmostNothing() {
        SpinGovernor g = new SpinGovernor(LIMIT, SLEEP);
        long spent = 0;
        int periods = 1_000_000;
        for (int i = 0; i < periods; i++) {
            long b = g.budget();
            if (b > 0) {
                spent += b;
                g.watched(false, b);
            }
        }
        // Without the governor: SLEEP per idle period. With it: a few probes per back-off.
        double perPeriod = (double) spent / periods;
        assertTrue(perPeriod < SLEEP / 100.0, "ns spent watching per idle period: " + perPeriod);
        assertTrue(spent > 0, "it keeps probing");
    }

    @Test
    void watchingThatCatchesTooLateToPayStops() {
        // Half the watches catch a request after 2/3 of a sleep's cost, half miss: each pair costs
        // 5/3 sleeps and saves one, so it must not go on.
        SpinGovernor g = new SpinGovernor(LIMIT, SLEEP);
        long spent = 0;
        long saved = 0;
        int periods = 200_000;
        for (int i = 0; i < periods; i++) {
            long b = g.budget();
            if (b > 0) {
                if (i % 2 == 0) {
                    spent += 2_000;
                    saved += SLEEP;
                    g.watched(true, 2_000);
                } else {
                    spent += b;
                    g.watched(false, b);
                }
            }
        }
        assertTrue(spent - saved < 20 * SpinGovernor.DEBT_SLEEPS * SLEEP, "net cost " + (spent - saved));
    }

    @Test
    void aDriverThatSpeedsUpIsCaughtAgain() {
        SpinGovernor g = new SpinGovernor(LIMIT, SLEEP);
        for (int i = 0; i < 100_000; i++) {
            long b = g.budget();
            if (b > 0) {
                g.watched(false, b);
            }
        }
        int watches = 0;
        for (int i = 0; i < 2 * SpinGovernor.MAX_BACKOFF + 100; i++) {
            long b = g.budget();
            if (b > 0) {
                watches++;
                g.watched(true, 200);
            }
        }
        assertTrue(watches > 100, "watching resumed after the back-off: " + watches);
    }

    // ---- what it counts into the queue's counters -----------------------------------------

    @Test
    void everyWatchIsCountedWithItsTimeCaughtOrMissed() {
        QueueCounters counters = new QueueCounters();
        SpinGovernor g = new SpinGovernor(LIMIT, SLEEP, counters);
        SplittableRandom random = new SplittableRandom(14);
        long watches = 0;
        long caught = 0;
        long caughtNanos = 0;
        long missedNanos = 0;
        for (int i = 0; i < 100_000; i++) {
            long b = g.budget();
            if (b == 0) {
                continue;
            }
            // A driver that comes in time one period in three: mostly misses, so it backs off too.
            boolean hit = random.nextInt(3) == 0;
            long nanos = hit ? random.nextLong(1, b + 1) : b;
            watches++;
            if (hit) {
                caught++;
                caughtNanos += nanos;
            } else {
                missedNanos += nanos;
            }
            g.watched(hit, nanos);
        }
        QueueFigures f = counters.figures(1, true);
        assertTrue(caught > 0 && caught < watches, "both kinds happened: " + f);
        assertEquals(watches, f.watches());
        assertEquals(caught, f.caught());
        assertEquals(caughtNanos, f.caughtWatchNanos());
        assertEquals(missedNanos, f.missedWatchNanos());
        assertEquals(caughtNanos + missedNanos, f.watchNanos());
        assertEquals(0, f.served(), "the governor counts no requests");
        assertEquals(0, f.sleeps(), "nor sleeps");
    }

    @Test
    void noWatchIsCountedWhenPollingIsOff() {
        QueueCounters counters = new QueueCounters();
        SpinGovernor g = new SpinGovernor(0, SLEEP, counters);
        for (int i = 0; i < 100; i++) {
            assertEquals(0, g.budget());
        }
        assertEquals(0, counters.figures(1, true).watches());
    }

    @Test
    void theSleepCostItUsesIsTheOneItPublishes() {
        QueueCounters counters = new QueueCounters();
        SpinGovernor g = new SpinGovernor(LIMIT, SLEEP, counters);
        assertEquals(SLEEP, counters.figures(1, true).sleepCostNanos(), "the assumed cost until measured");
        g.slept(11_000);
        assertTrue(g.sleepCost() > SLEEP, "moved towards 11 us: " + g.sleepCost());
        assertEquals(g.sleepCost(), counters.figures(1, true).sleepCostNanos());
        g.slept(0); // a failed clock read changes nothing
        assertEquals(g.sleepCost(), counters.figures(1, true).sleepCostNanos());
    }

    @Test
    void backingOffIsPublishedWhileWatchingIsSuspended() {
        QueueCounters counters = new QueueCounters();
        SpinGovernor g = new SpinGovernor(LIMIT, SLEEP, counters);
        assertFalse(counters.figures(1, true).backingOff());
        // Misses until the debt stops watching.
        int misses = 0;
        while (!counters.figures(1, true).backingOff()) {
            long b = g.budget();
            assertTrue(b > 0, "watches until it backs off");
            g.watched(false, b);
            assertTrue(++misses <= SpinGovernor.DEBT_SLEEPS + 1, "backs off after about DEBT_SLEEPS misses");
        }
        // The first back-off is one idle period: it sleeps at once, then the next period probes.
        assertEquals(0, g.budget());
        assertFalse(counters.figures(1, true).backingOff(), "back-off over after its periods");
        assertTrue(g.budget() > 0, "the probe");
    }
}
