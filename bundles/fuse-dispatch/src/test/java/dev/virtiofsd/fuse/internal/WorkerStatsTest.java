package dev.virtiofsd.fuse.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class WorkerStatsTest {
    @Test
    void everyValueLandsInABucketThatHoldsIt() {
        long[] values = {0, 1, 63, 64, 100, 127, 128, 1_000, 4_095, 4_096, 12_345, 1_000_000, 987_654_321L, 1L << 37};
        for (long v : values) {
            int b = WorkerStats.bucket(v);
            assertTrue(v < WorkerStats.upper(b), v + " below the upper bound of its bucket " + b);
            if (b > 0) {
                assertTrue(v >= WorkerStats.upper(b - 1), v + " not below the previous bucket's upper bound");
                assertTrue(
                        WorkerStats.upper(b) <= WorkerStats.upper(b - 1) * 5 / 4 + 1,
                        "bucket " + b + " at most 25% wide");
            }
        }
        assertEquals(WorkerStats.BUCKETS - 1, WorkerStats.bucket(Long.MAX_VALUE), "clamped at the last bucket");
    }

    @Test
    void everyRequestIsCountedAndTheFirstOfEachOpcodeAllTimedThenOneInEight() {
        WorkerStats w = new WorkerStats();
        int timedLookups = 0;
        for (int i = 1; i <= 10_000; i++) {
            boolean timed = w.count(FuseProtocol.LOOKUP);
            if (i <= WorkerStats.TIME_EVERY) {
                assertTrue(timed, "request " + i + " of an opcode is timed");
            }
            if (timed) {
                timedLookups++;
            }
        }
        assertEquals(10_000, w.counts.get(FuseProtocol.LOOKUP), "counts are exact");
        assertEquals(256 + (10_000 - 256) / 8, timedLookups, "then every 8th");
        // another opcode starts its own count: its first requests are all timed
        for (int i = 0; i < 100; i++) {
            assertTrue(w.count(FuseProtocol.GETATTR));
        }
        assertTrue(WorkerStats.LATENCY, "latency on by default (-Dvirtiofsd.fuse.latency=off not given)");
    }

    @Test
    void percentilesOfASummedHistogram() {
        WorkerStats a = new WorkerStats();
        WorkerStats b = new WorkerStats();
        for (int i = 0; i < 90; i++) {
            a.count(FuseProtocol.LOOKUP);
            a.latency(FuseProtocol.LOOKUP, 1_000);
        }
        for (int i = 0; i < 10; i++) {
            b.count(FuseProtocol.LOOKUP);
            b.error(FuseProtocol.LOOKUP);
            b.latency(FuseProtocol.LOOKUP, 1_000_000);
        }
        long[] c = new long[WorkerStats.SLOTS];
        long[] e = new long[WorkerStats.SLOTS];
        long[] l = new long[WorkerStats.SLOTS * WorkerStats.BUCKETS];
        a.addTo(c, e, l);
        b.addTo(c, e, l);
        assertEquals(100, c[FuseProtocol.LOOKUP]);
        assertEquals(10, e[FuseProtocol.LOOKUP]);
        long p50 = WorkerStats.percentile(l, FuseProtocol.LOOKUP, 0.5);
        long p99 = WorkerStats.percentile(l, FuseProtocol.LOOKUP, 0.99);
        assertTrue(p50 > 1_000 && p50 <= 1_250, "p50 " + p50);
        assertTrue(p99 > 1_000_000 && p99 <= 1_250_000, "p99 " + p99);
        assertEquals(p99, WorkerStats.max(l, FuseProtocol.LOOKUP));
        assertEquals(0, WorkerStats.percentile(l, FuseProtocol.GETATTR, 0.5), "no requests, no latency");
    }
}
