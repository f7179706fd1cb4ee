package dev.virtiofsd.benchmark;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * What /proc says of a daemon: CPU time (utime + stime of every thread, from /proc/PID/stat), the
 * same per thread (/proc/PID/task/TID/stat), RSS/PSS, and RSS by kind of mapping (/proc/PID/smaps).
 * A daemon is a process tree: Rust virtiofsd in its sandbox forks the serving child, ours execs
 * through its launcher script; so CPU and memory are summed over the process and its descendants.
 */
final class Proc {
    private Proc() {}

    /** USER_HZ: the unit of utime/stime in /proc/PID/stat. */
    static final long CLOCK_TICKS = clockTicks();

    private static long clockTicks() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK")
                    .redirectErrorStream(true)
                    .start();
            String s = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            p.waitFor(5, TimeUnit.SECONDS);
            return Long.parseLong(s);
        } catch (IOException | NumberFormatException e) {
            return 100;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 100;
        }
    }

    /** The process and all its live descendants. */
    static List<Long> tree(long pid) {
        List<Long> pids = new ArrayList<>();
        pids.add(pid);
        ProcessHandle.of(pid).ifPresent(h -> h.descendants().forEach(d -> pids.add(d.pid())));
        return pids;
    }

    /** Fields of a /proc stat line after the command name: index 0 is field 3 (state). */
    private static String[] statFields(Path stat) throws IOException {
        String s = Files.readString(stat, StandardCharsets.US_ASCII);
        return s.substring(s.lastIndexOf(')') + 2).trim().split(" ", -1);
    }

    private static String statName(Path stat) throws IOException {
        String s = Files.readString(stat, StandardCharsets.US_ASCII);
        return s.substring(s.indexOf('(') + 1, s.lastIndexOf(')'));
    }

    /**
     * utime + stime (fields 14 and 15) of a /proc/PID/stat line, in clock ticks. The command name
     * (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
     */
    static long cpuTicksOfStatLine(String stat) {
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ", -1);
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    /** utime + stime of the whole process {@code pid} (all its threads), in clock ticks; 0 if gone. */
    static long cpuTicksOf(long pid) {
        try {
            return cpuTicksOfStatLine(
                    Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII));
        } catch (NoSuchFileException e) {
            return 0;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read /proc/" + pid + "/stat", e);
        }
    }

    /** CPU seconds (user + system) used so far by {@code pid} and its live descendants. */
    static double cpuSeconds(long pid) {
        long ticks = 0;
        for (long p : tree(pid)) {
            ticks += cpuTicksOf(p);
        }
        return (double) ticks / CLOCK_TICKS;
    }

    /**
     * CPU seconds of a process tree at one moment: {@code ticks} per pid (utime + stime of the whole
     * process, exited threads included), and whether every pid of the tree could be read.
     */
    record Sample(Map<Long, Long> ticks, boolean whole) {
        double seconds() {
            long t = 0;
            for (long v : ticks.values()) {
                t += v;
            }
            return (double) t / CLOCK_TICKS;
        }
    }

    /** A {@link Sample} of {@code pid} and its live descendants. */
    static Sample sample(long pid) {
        Map<Long, Long> ticks = new TreeMap<>();
        boolean whole = true;
        for (long p : tree(pid)) {
            try {
                ticks.put(
                        p,
                        cpuTicksOfStatLine(Files.readString(
                                Path.of("/proc", Long.toString(p), "stat"), StandardCharsets.US_ASCII)));
            } catch (IOException e) {
                whole = false; // it exited (and was reaped) while the tree was read
            }
        }
        return new Sample(ticks, whole && !ticks.isEmpty());
    }

    /**
     * CPU-seconds the tree used between two samples, or null when they cannot tell: a sample was
     * not whole, or a process of the first is gone in the second (a process that exits takes its CPU
     * time out of the tree's sum, e.g. a daemon that quits as QEMU powers off). A process that
     * appeared in between counts from 0. Never negative: each process's counters only grow.
     */
    static Double used(Sample before, Sample after) {
        if (!before.whole()
                || !after.whole()
                || !after.ticks().keySet().containsAll(before.ticks().keySet())) {
            return null;
        }
        long t = 0;
        for (Map.Entry<Long, Long> e : after.ticks().entrySet()) {
            long d = e.getValue() - before.ticks().getOrDefault(e.getKey(), 0L);
            if (d < 0) {
                return null; // a pid reused by another process
            }
            t += d;
        }
        return (double) t / CLOCK_TICKS;
    }

    /**
     * CPU seconds per thread kind of {@code pid} and its descendants: the JVM's thread names
     * ("C2 CompilerThread0", "vhost-user-queue-1", ...) folded into a few groups, see {@link #threadGroup}.
     */
    static Map<String, Double> cpuByThreadGroup(long pid) {
        Map<String, Double> out = new TreeMap<>();
        for (long p : tree(pid)) {
            Path tasks = Path.of("/proc", Long.toString(p), "task");
            List<Path> tids;
            try (var s = Files.list(tasks)) {
                tids = s.toList();
            } catch (IOException e) {
                continue;
            }
            for (Path t : tids) {
                try {
                    Path stat = t.resolve("stat");
                    String[] f = statFields(stat);
                    double cpu = (double) (Long.parseLong(f[11]) + Long.parseLong(f[12])) / CLOCK_TICKS;
                    out.merge(threadGroup(statName(stat)), cpu, Double::sum);
                } catch (IOException e) {
                    // the thread ended meanwhile
                }
            }
        }
        return out;
    }

    /** Folds a thread name into the group the reports show. */
    static String threadGroup(String name) {
        if (name.startsWith("C2 Compiler")) {
            return "JIT C2";
        }
        if (name.startsWith("C1 Compiler")) {
            return "JIT C1";
        }
        if (name.startsWith("fuse-warm-up")) {
            return "warm-up";
        }
        if (name.startsWith("vhost-user-queu") || name.startsWith("vhost-user-work")) {
            return "request threads";
        }
        if (name.startsWith("VM Thread") || name.startsWith("GC ") || name.contains("GC Thread")) {
            return "GC / VM thread";
        }
        if (name.equals("java") || name.equals("main")) {
            return "main (start-up)";
        }
        if (name.startsWith("virtiofsd") || name.startsWith("vhost-")) {
            return "request threads"; // Rust virtiofsd: main thread serves the queue with pool size 0
        }
        return "other";
    }

    /** Difference b - a per key (keys of either). */
    static Map<String, Double> minus(Map<String, Double> b, Map<String, Double> a) {
        Map<String, Double> out = new TreeMap<>();
        for (Map.Entry<String, Double> e : b.entrySet()) {
            out.put(e.getKey(), e.getValue() - a.getOrDefault(e.getKey(), 0.0));
        }
        return out;
    }

    /** A field of /proc/PID/status in KiB, summed over the process tree. */
    static long statusKiB(long pid, String field) {
        long sum = 0;
        for (long p : tree(pid)) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc", Long.toString(p), "status"))) {
                    if (line.startsWith(field + ":")) {
                        sum += Long.parseLong(
                                line.substring(field.length() + 1).trim().split("\\s+", -1)[0]);
                    }
                }
            } catch (IOException e) {
                // gone
            }
        }
        return sum;
    }

    /** Pss of /proc/PID/smaps_rollup in KiB, summed over the process tree. */
    static long pssKiB(long pid) {
        long sum = 0;
        for (long p : tree(pid)) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc", Long.toString(p), "smaps_rollup"))) {
                    if (line.startsWith("Pss:")) {
                        sum += Long.parseLong(line.substring(4).trim().split("\\s+", -1)[0]);
                    }
                }
            } catch (IOException e) {
                // gone
            }
        }
        return sum;
    }

    /**
     * RSS in KiB by kind of mapping, from /proc/PID/smaps of the serving process (the largest of
     * the tree): the JVM's shared library, the class-data archive, other shared libraries and jars,
     * shared guest memory (memfd), the Java heap (anonymous mappings the JVM reserves large), thread
     * stacks, and the remaining anonymous memory (malloc arenas, metaspace, code cache, JIT arenas).
     * Anonymous regions are told apart by NMT in {@link Footprint}; this is what the kernel counts.
     */
    static Map<String, Long> rssByMapping(long pid) throws IOException {
        long serving = pid;
        long best = -1;
        for (long p : tree(pid)) {
            long rss = statusKiB(p, "VmRSS");
            if (rss > best) {
                best = rss;
                serving = p;
            }
        }
        Map<String, Long> out = new LinkedHashMap<>();
        String kind = null;
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(serving), "smaps"))) {
            if (HEADER.matcher(line).lookingAt()) {
                kind = mappingKind(line);
            } else if (line.startsWith("Rss:") && kind != null) {
                long kib = Long.parseLong(line.substring(4).trim().split("\\s+", -1)[0]);
                out.merge(kind, kib, Long::sum);
            }
        }
        return out;
    }

    private static final java.util.regex.Pattern HEADER = java.util.regex.Pattern.compile("[0-9a-f]+-[0-9a-f]+ ");

    private static String mappingKind(String header) {
        String[] f = header.trim().split("\\s+", 6);
        String name = f.length == 6 ? f[5] : "";
        if (name.endsWith("libjvm.so")) {
            return "libjvm.so";
        }
        if (name.endsWith(".jsa") || name.endsWith(".aot")) {
            return "class-data archive (.jsa / .aot)";
        }
        if (name.contains("/memfd:") || name.startsWith("/memfd:")) {
            return "guest memory (memfd)";
        }
        if (name.contains("[stack")) {
            return "main thread stack";
        }
        if (name.startsWith("/")) {
            return name.endsWith(".jar") || name.endsWith("modules")
                    ? "jars / JDK modules file"
                    : "other files / libraries";
        }
        return "anonymous (malloc, metaspace, code, stacks, heap)";
    }
}
