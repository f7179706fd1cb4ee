package dev.virtiofsd.fuse.internal;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * One serving thread's request counters: per opcode slot the count, the errno replies and a latency
 * histogram. Single writer (the worker's thread), so each update is a plain read plus an ordered
 * store ({@code lazySet}): no lock, no atomic read-modify-write, no allocation on the request path.
 * Readers on other threads sum snapshots.
 *
 * <p>Counts are exact. Latency is measured for every request of an opcode until this worker has
 * served {@value #TIME_EVERY} of them, then for every {@value #SAMPLE}th: the two clock reads cost
 * about 56 ns per timed request on the CI machine (kvm-clock), which was 2-2.5% of the CPU of the
 * cheapest requests (GETATTR at 64 in flight, ~2.2 µs of daemon CPU each); sampled, 7 ns on
 * average. The sample does not depend on the latency, so the percentiles estimate those of all
 * requests; the maximum is the largest measured.
 *
 * <p>Histogram: 4 buckets per power of two from 64 ns to 2^38 ns (about 4.6 min); bucket {@code b}
 * covers {@code [lower(b), upper(b))}, upper 25% or less above lower.
 */
final class WorkerStats {
    static final int SLOTS = FuseProtocol.OPCODE_SLOTS;
    static final int BUCKETS = 128;
    private static final int MIN_EXP = 6;

    /** {@code -Dvirtiofsd.fuse.latency=off} stops the clock reads and the histograms; counts stay. */
    static final boolean LATENCY = !"off".equals(System.getProperty("virtiofsd.fuse.latency"));

    /** Requests of an opcode per worker that are all timed, before sampling starts. */
    static final long TIME_EVERY = 256;
    /** After that, one request in this many (a power of two) is timed. */
    static final long SAMPLE = 8;

    final AtomicLongArray counts = new AtomicLongArray(SLOTS);
    final AtomicLongArray errors = new AtomicLongArray(SLOTS);
    final AtomicLongArray latency = LATENCY ? new AtomicLongArray(SLOTS * BUCKETS) : null;

    static int slot(int opcode) {
        return opcode > 0 && opcode < SLOTS ? opcode : 0;
    }

    /** Counts a request; true when its latency is to be measured (see the class comment). */
    boolean count(int opcode) {
        int s = slot(opcode);
        long c = counts.get(s) + 1;
        counts.lazySet(s, c);
        return LATENCY && (c <= TIME_EVERY || (c & (SAMPLE - 1)) == 0);
    }

    void error(int opcode) {
        int s = slot(opcode);
        errors.lazySet(s, errors.get(s) + 1);
    }

    void latency(int opcode, long nanos) {
        int i = slot(opcode) * BUCKETS + bucket(nanos);
        latency.lazySet(i, latency.get(i) + 1);
    }

    static int bucket(long nanos) {
        if (nanos < (1L << MIN_EXP)) {
            return 0;
        }
        int exp = 63 - Long.numberOfLeadingZeros(nanos);
        int sub = (int) (nanos >>> (exp - 2)) & 3;
        int b = (exp - MIN_EXP) * 4 + sub;
        return b < BUCKETS ? b : BUCKETS - 1;
    }

    /** Upper bound (exclusive) of bucket {@code b}, in nanoseconds. */
    static long upper(int b) {
        int exp = b / 4 + MIN_EXP;
        int sub = b % 4;
        return (long) (5 + sub) << (exp - 2);
    }

    /** Adds this worker's figures to the sums (arrays sized SLOTS, SLOTS, SLOTS * BUCKETS). */
    void addTo(long[] countSum, long[] errorSum, long[] latencySum) {
        for (int i = 0; i < SLOTS; i++) {
            countSum[i] += counts.get(i);
            errorSum[i] += errors.get(i);
        }
        if (latency != null) {
            for (int i = 0; i < SLOTS * BUCKETS; i++) {
                latencySum[i] += latency.get(i);
            }
        }
    }

    /** The upper bound of the bucket holding quantile {@code q} of slot {@code s} of a summed histogram. */
    static long percentile(long[] latencySum, int s, double q) {
        long total = 0;
        for (int b = 0; b < BUCKETS; b++) {
            total += latencySum[s * BUCKETS + b];
        }
        if (total == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(q * total);
        long seen = 0;
        for (int b = 0; b < BUCKETS; b++) {
            seen += latencySum[s * BUCKETS + b];
            if (seen >= rank) {
                return upper(b);
            }
        }
        return upper(BUCKETS - 1);
    }

    static long max(long[] latencySum, int s) {
        for (int b = BUCKETS - 1; b >= 0; b--) {
            if (latencySum[s * BUCKETS + b] != 0) {
                return upper(b);
            }
        }
        return 0;
    }
}
