package dev.virtiofsd.transport.vhostuser.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
