package dev.virtiofsd.api.introspect;

import java.util.Map;
import org.osgi.annotation.versioning.ProviderType;

/**
 * What the FUSE dispatcher has served: per opcode, how many requests, how many failed, and how long
 * they took. Counted per serving thread without locks or atomics on the request path; reading sums
 * the threads' counters (a snapshot, not atomic as a whole).
 *
 * @since 1.1
 */
@ProviderType
public interface RequestStats {
    /** Per FUSE opcode name ("LOOKUP", "GETATTR", ...), only opcodes seen at least once, in opcode order. */
    Map<String, OpcodeStats> byOpcode();

    /** Whether latencies are measured (they can be turned off; counts are always kept). */
    boolean latencyMeasured();
}
