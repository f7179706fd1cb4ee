package dev.virtiofsd.benchmark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
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

    private static Proc.Sample sample(boolean whole, long... pidTicks) {
        Map<Long, Long> m = new java.util.TreeMap<>();
        for (int i = 0; i < pidTicks.length; i += 2) {
            m.put(pidTicks[i], pidTicks[i + 1]);
        }
        return new Proc.Sample(m, whole);
    }

    @Test
    void cpuOfAPhaseIsTheGrowthOfEveryProcessOfTheTree() {
        // the launcher's shell and the JVM; a helper process that appeared meanwhile counts from 0
        Proc.Sample before = sample(true, 10, 5, 11, 200);
        Proc.Sample after = sample(true, 10, 5, 11, 200 + 3 * Proc.CLOCK_TICKS, 12, Proc.CLOCK_TICKS);
        assertEquals(4.0, Proc.used(before, after), 1e-9);
        assertEquals(0.0, Proc.used(before, before), 1e-9);
    }

    @Test
    void aDaemonThatExitedBeforeTheLastSampleGivesNoFigureRatherThanANegativeOne() {
        Proc.Sample before = sample(true, 10, 5, 11, 900);
        // QEMU powered off, the JVM exited and was reaped: only the launcher's process is left
        assertNull(Proc.used(before, sample(true, 10, 5)));
        // nothing left at all (the tree's root was reaped too)
        assertNull(Proc.used(before, sample(false)));
        // a process vanished while the sample was read
        assertNull(Proc.used(before, sample(false, 10, 6, 11, 950)));
        assertNull(Proc.used(sample(false, 10, 5), sample(true, 10, 6, 11, 950)));
        // the pid came back as another process, with less time than before
        assertNull(Proc.used(before, sample(true, 10, 6, 11, 3)));
    }

    @Test
    void aLiveProcessSampledTwiceUsedWhatItDid() {
        long pid = ProcessHandle.current().pid();
        Proc.Sample a = Proc.sample(pid);
        long t0 = System.nanoTime();
        long x = 0;
        Proc.Sample b = a;
        // busy until the kernel has counted at least a tick more (bounded, not timed)
        while (b.seconds() <= a.seconds() && System.nanoTime() - t0 < 60_000_000_000L) {
            for (int i = 0; i < 100_000; i++) {
                x += Long.numberOfTrailingZeros(x + t0);
            }
            b = Proc.sample(pid);
        }
        assertTrue(a.whole() && b.whole() && x != 42);
        Double used = Proc.used(a, b);
        assertTrue(used != null && used > 0, "used " + used);
        assertEquals(b.seconds() - a.seconds(), used, 1e-9);
    }

    @Test
    void ratiosThatCannotBeFormedPrintAsNotAvailable() {
        assertEquals("n/a", Report.fmtRatio(0.3 / 0.0));
        assertEquals("n/a", Report.fmtRatio(Double.NaN));
        assertEquals("**n/a**", Report.boldBelow(Double.POSITIVE_INFINITY));
        assertEquals("1.50x", Report.fmtRatio(1.5));
    }
}
