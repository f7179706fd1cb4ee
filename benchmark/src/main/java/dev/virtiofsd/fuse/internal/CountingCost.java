package dev.virtiofsd.fuse.internal;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the request counting of the FUSE dispatch ({@link WorkerStats}) costs per request, measured
 * directly: a loop (no JMH) that records what {@code FuseWorkerImpl.handle} records for one request,
 * on one thread and on two threads at once, each thread with its own {@code WorkerStats} as each
 * serving thread of the daemon has. For comparison, the same counts kept in one array shared by both
 * threads (what per-thread counters avoid) and in shared {@link LongAdder}s (striped counters).
 *
 * <p>In this package because {@link WorkerStats} is the dispatch bundle's internal class; on the
 * benchmark's plain class path that is allowed. Run: {@code benchmark/run.sh --counting-cost}.
 * Prints nanoseconds per recorded request: wall clock and the thread's own CPU time (the latter
 * holds on a loaded machine, where a thread may wait for a core).
 */
public final class CountingCost {
    private static final int[] OPCODES = {
        FuseProtocol.LOOKUP, FuseProtocol.GETATTR, FuseProtocol.OPEN, FuseProtocol.READ,
        FuseProtocol.LOOKUP, FuseProtocol.GETATTR, FuseProtocol.LOOKUP, FuseProtocol.GETATTR
    };
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private CountingCost() {}

    /** One way of recording a request; {@code state} is the thread's own or a shared one. */
    private interface Recorder {
        Object newState();

        /** Records {@code n} requests; returns something that depends on the work (kept from the JIT). */
        long run(Object state, long n);
    }

    private record Variant(String name, String what, Recorder recorder, boolean sharedState) {}

    /** Results of one variant: ns per request, medians over rounds. */
    private record Figure(double wallNs, double cpuNs) {}

    public static void main(String[] args) throws Exception {
        long perRound = args.length > 0 ? Long.parseLong(args[0]) : 20_000_000L;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        List<Variant> variants = variants();
        System.out.printf(
                Locale.ROOT,
                "Request counting cost (WorkerStats), %d requests per round, median of %d rounds after warm-up;"
                        + " %s %s, %d CPUs, load average %s%n",
                perRound,
                rounds,
                System.getProperty("java.vm.name"),
                System.getProperty("java.vm.version"),
                Runtime.getRuntime().availableProcessors(),
                loadAverage());
        System.out.println();
        System.out.println("| recorded per request | 1 thread: ns wall | 1 thread: ns CPU | 2 threads at once: ns wall"
                + " | 2 threads at once: ns CPU | what |");
        System.out.println("|---|---:|---:|---:|---:|---|");
        for (Variant v : variants) {
            Figure one = measure(v, 1, perRound, rounds);
            Figure two = measure(v, 2, perRound, rounds);
            System.out.printf(
                    Locale.ROOT,
                    "| %s | %.1f | %.1f | %.1f | %.1f | %s |%n",
                    v.name(),
                    one.wallNs(),
                    one.cpuNs(),
                    two.wallNs(),
                    two.cpuNs(),
                    v.what());
        }
        System.out.println();
        System.out.println("load average at the end: " + loadAverage());
    }

    private static List<Variant> variants() {
        List<Variant> v = new ArrayList<>();
        v.add(new Variant(
                "nothing (loop only)",
                "the loop and opcode choice, subtracted by eye",
                new Recorder() {
                    @Override
                    public Object newState() {
                        return new long[1];
                    }

                    @Override
                    public long run(Object state, long n) {
                        long sum = 0;
                        for (long i = 0; i < n; i++) {
                            sum += WorkerStats.slot(OPCODES[(int) (i & 7)]);
                        }
                        return sum;
                    }
                },
                false));
        v.add(new Variant(
                "count only (latency=off)",
                "WorkerStats.count: what -Dvirtiofsd.fuse.latency=off leaves",
                new Recorder() {
                    @Override
                    public Object newState() {
                        return new WorkerStats();
                    }

                    @Override
                    public long run(Object state, long n) {
                        WorkerStats s = (WorkerStats) state;
                        long timed = 0;
                        for (long i = 0; i < n; i++) {
                            if (s.count(OPCODES[(int) (i & 7)])) {
                                timed++;
                            }
                        }
                        return s.counts.get(FuseProtocol.LOOKUP) + timed;
                    }
                },
                false));
        v.add(new Variant(
                "2 x System.nanoTime",
                "the two clock reads alone",
                new Recorder() {
                    @Override
                    public Object newState() {
                        return new long[1];
                    }

                    @Override
                    public long run(Object state, long n) {
                        long sum = 0;
                        for (long i = 0; i < n; i++) {
                            long t0 = System.nanoTime();
                            sum += System.nanoTime() - t0;
                        }
                        return sum;
                    }
                },
                false));
        v.add(new Variant(
                "count + sampled latency (default)",
                "count; two clock reads and the histogram bucket for the first 256 of an opcode, then 1 in 8:"
                        + " what handle() records per request",
                new Recorder() {
                    @Override
                    public Object newState() {
                        return new WorkerStats();
                    }

                    @Override
                    public long run(Object state, long n) {
                        WorkerStats s = (WorkerStats) state;
                        for (long i = 0; i < n; i++) {
                            int op = OPCODES[(int) (i & 7)];
                            if (s.count(op)) {
                                long t0 = System.nanoTime();
                                s.latency(op, System.nanoTime() - t0);
                            }
                        }
                        return s.counts.get(FuseProtocol.LOOKUP);
                    }
                },
                false));
        v.add(new Variant(
                "count + latency of every request",
                "count, two clock reads, the histogram bucket on every request (before sampling)",
                new Recorder() {
                    @Override
                    public Object newState() {
                        return new WorkerStats();
                    }

                    @Override
                    public long run(Object state, long n) {
                        WorkerStats s = (WorkerStats) state;
                        for (long i = 0; i < n; i++) {
                            int op = OPCODES[(int) (i & 7)];
                            long t0 = System.nanoTime();
                            s.count(op);
                            s.latency(op, System.nanoTime() - t0);
                        }
                        return s.counts.get(FuseProtocol.LOOKUP);
                    }
                },
                false));
        v.add(new Variant(
                "shared AtomicLongArray (comparison)",
                "counts in one array for all threads, incrementAndGet: contended at 2 threads",
                new Recorder() {
                    @Override
                    public Object newState() {
                        return new AtomicLongArray(WorkerStats.SLOTS);
                    }

                    @Override
                    public long run(Object state, long n) {
                        AtomicLongArray a = (AtomicLongArray) state;
                        for (long i = 0; i < n; i++) {
                            a.incrementAndGet(WorkerStats.slot(OPCODES[(int) (i & 7)]));
                        }
                        return a.get(FuseProtocol.LOOKUP);
                    }
                },
                true));
        v.add(new Variant(
                "shared LongAdder per opcode (comparison)",
                "striped counters shared by all threads",
                new Recorder() {
                    @Override
                    public Object newState() {
                        LongAdder[] a = new LongAdder[WorkerStats.SLOTS];
                        Arrays.setAll(a, i -> new LongAdder());
                        return a;
                    }

                    @Override
                    public long run(Object state, long n) {
                        LongAdder[] a = (LongAdder[]) state;
                        for (long i = 0; i < n; i++) {
                            a[WorkerStats.slot(OPCODES[(int) (i & 7)])].increment();
                        }
                        return a[FuseProtocol.LOOKUP].sum();
                    }
                },
                true));
        return v;
    }

    private static Figure measure(Variant v, int threads, long perRound, int rounds) throws Exception {
        // warm-up: compile the loop
        runThreads(v, threads, perRound / 4, 3);
        double[][] r = runThreads(v, threads, perRound, rounds);
        return new Figure(median(r[0]), median(r[1]));
    }

    /** Per round: [0] wall ns per request (mean over the threads), [1] thread CPU ns per request. */
    private static double[][] runThreads(Variant v, int threads, long n, int rounds) throws Exception {
        double[] wall = new double[rounds];
        double[] cpu = new double[rounds];
        Object shared = v.recorder().newState();
        for (int round = 0; round < rounds; round++) {
            CyclicBarrier start = new CyclicBarrier(threads);
            long[][] out = new long[threads][3];
            Thread[] ts = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                long[] mine = out[t];
                Object state = v.sharedState() ? shared : v.recorder().newState();
                ts[t] = new Thread(
                        () -> {
                            try {
                                start.await();
                            } catch (Exception e) {
                                throw new IllegalStateException(e);
                            }
                            long c0 = THREADS.getCurrentThreadCpuTime();
                            long w0 = System.nanoTime();
                            mine[2] = v.recorder().run(state, n);
                            mine[0] = System.nanoTime() - w0;
                            mine[1] = THREADS.getCurrentThreadCpuTime() - c0;
                        },
                        "counting-cost-" + t);
                ts[t].start();
            }
            for (Thread t : ts) {
                t.join();
            }
            long w = 0;
            long c = 0;
            long sink = 0;
            for (long[] o : out) {
                w += o[0];
                c += o[1];
                sink += o[2];
            }
            wall[round] = (double) w / threads / n;
            cpu[round] = (double) c / threads / n;
            if (sink == Long.MIN_VALUE) {
                System.out.println("(unlikely) " + sink);
            }
        }
        return new double[][] {wall, cpu};
    }

    private static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static String loadAverage() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg"))
                    .trim();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
