package dev.virtiofsd.api.introspect;

/**
 * Requests of one opcode: count, failures (an errno reply) and latency percentiles in nanoseconds
 * (time in the dispatcher and filesystem, from the decoded request to the encoded reply). Latencies
 * come from a logarithmic histogram: each percentile is the upper bound of its bucket (at most 25% above the true value).
 * All latencies are 0 when latency measuring is off.
 *
 * @since 1.1
 */
public final class OpcodeStats {
    private final long count;
    private final long errors;
    private final long p50Nanos;
    private final long p90Nanos;
    private final long p99Nanos;
    private final long maxNanos;

    public OpcodeStats(long count, long errors, long p50Nanos, long p90Nanos, long p99Nanos, long maxNanos) {
        this.count = count;
        this.errors = errors;
        this.p50Nanos = p50Nanos;
        this.p90Nanos = p90Nanos;
        this.p99Nanos = p99Nanos;
        this.maxNanos = maxNanos;
    }

    public long count() {
        return count;
    }

    public long errors() {
        return errors;
    }

    public long p50Nanos() {
        return p50Nanos;
    }

    public long p90Nanos() {
        return p90Nanos;
    }

    public long p99Nanos() {
        return p99Nanos;
    }

    /** Upper bound of the highest bucket seen. */
    public long maxNanos() {
        return maxNanos;
    }

    @Override
    public String toString() {
        return "OpcodeStats[count=" + count + ", errors=" + errors + ", p50=" + p50Nanos + "ns, p90=" + p90Nanos
                + "ns, p99=" + p99Nanos + "ns, max=" + maxNanos + "ns]";
    }
}
