package dev.virtiofsd.control.internal;

import java.util.Map;

/** {@code dev.virtiofsd:type=Requests}: the per-opcode figures of the {@code stats} command. */
public interface RequestsMXBean {
    boolean isLatencyMeasured();

    Map<String, Long> getCounts();

    Map<String, Long> getErrors();

    Map<String, Long> getP50Nanos();

    Map<String, Long> getP90Nanos();

    Map<String, Long> getP99Nanos();

    Map<String, Long> getMaxNanos();
}
