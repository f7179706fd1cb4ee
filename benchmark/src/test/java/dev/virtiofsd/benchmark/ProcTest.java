package dev.virtiofsd.benchmark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The CPU accounting the benchmark's per-CPU-second figures rest on. */
class ProcTest {

    @Test
    void utimePlusStimeAfterACommandNameWithSpacesAndParentheses() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
        String stat = "4242 (java (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 8 9 20 0 31 0\n";
        assertEquals(1234 + 567, Proc.cpuTicksOfStatLine(stat));
    }

    @Test
    void thisProcessCpuGrowsByTheWorkItDoes() {
        long pid = ProcessHandle.current().pid();
        double before = Proc.cpuSeconds(pid);
        long t0 = System.nanoTime();
        long x = 0;
        while (System.nanoTime() - t0 < 300_000_000L) {
            x += Long.numberOfTrailingZeros(x + t0);
        }
        double used = Proc.cpuSeconds(pid) - before;
        // 0.3 s of a busy thread: at least a good part of it, whatever else the machine runs.
        assertTrue(used >= 0.05 && x != 42, "CPU-seconds used by a 0.3 s busy loop: " + used);
        Map<String, Double> groups = Proc.cpuByThreadGroup(pid);
        assertTrue(groups.values().stream().mapToDouble(Double::doubleValue).sum() > 0, groups.toString());
    }

    @Test
    void perCpuRatioIsOursOverThePeer() {
        Benchmark.Results r = new Benchmark.Results(Benchmark.Settings.shortSettings());
        r.perCpu.put(
                "GETATTR@1", Map.of("ours-fd", List.of(90.0, 100.0, 110.0), "peer-never", List.of(40.0, 50.0, 60.0)));
        assertEquals(2.0, Report.cpuRatio(r, "GETATTR@1", "ours-fd"), 1e-9);
    }
}
