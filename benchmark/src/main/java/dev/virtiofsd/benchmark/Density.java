package dev.virtiofsd.benchmark;

import dev.virtiofsd.frontend.Fuse;
import dev.virtiofsd.frontend.VhostUserFrontend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Many guests on one host: {@code count} daemons of one kind launched together, each serving its
 * own share to its own front end (FUSE INIT, a LOOKUP and a GETATTR: a mounted, idle share); then
 * their total RSS, PSS (shared pages such as the class-data archive and libjvm counted once) and
 * the CPU they use while idle. Ours (fd-only) against as many peers (never).
 */
final class Density {
    private Density() {}

    static final List<String> DAEMONS = List.of("peer-never", "ours-fd");

    /** daemon key -> figure -> value (see {@link #measure}). */
    static Map<String, Map<String, Double>> run(Setup setup, Path out, Path logs, int count, double idleSeconds)
            throws Exception {
        Map<String, Map<String, Double>> r = new LinkedHashMap<>();
        for (String key : DAEMONS) {
            Benchmark.log("density: " + count + " x " + key);
            r.put(key, measure(setup, out, logs, key, count, idleSeconds));
            Benchmark.log("  " + r.get(key));
        }
        return r;
    }

    private static Map<String, Double> measure(
            Setup setup, Path out, Path logs, String key, int count, double idleSeconds) throws Exception {
        Daemon.Config c = Daemon.CONFIGS.stream()
                .filter(x -> x.key().equals(key))
                .findFirst()
                .orElseThrow();
        Path root = Files.createDirectories(out.resolve("density-shares"));
        List<Daemon> daemons = new ArrayList<>();
        List<VhostUserFrontend> fronts = new ArrayList<>();
        Map<String, Double> m = new LinkedHashMap<>();
        try {
            long t0 = System.nanoTime();
            VhostUserFrontend.Options small = Load.frontendOptions(false);
            small.memorySize = 16L << 20;
            small.slots = 4;
            small.queueSize = 64;
            // One after the other, as guests start on a host: 32 JVMs starting at the same moment
            // on 2 cores would measure the CPU queue, not the daemons.
            for (int i = 0; i < count; i++) {
                Path share = Files.createDirectories(root.resolve("share" + i));
                Files.writeString(share.resolve("hello"), "hello " + i + "\n");
                Daemon d = Daemon.launch(
                        c,
                        setup,
                        share,
                        logs.resolve("density-" + key + "-" + i + ".sock"),
                        logs.resolve("density-" + key + "-" + i + ".log"),
                        null,
                        true);
                daemons.add(d);
                VhostUserFrontend fe = d.connect(small, 300_000_000_000L);
                fronts.add(fe);
                Load.check(fe.init(), "INIT");
                long node = Load.check(fe.lookup(Fuse.ROOT, "hello"), "LOOKUP hello")
                        .nodeId();
                Load.check(fe.getattr(node), "GETATTR hello");
            }
            m.put("all_serving_s", (System.nanoTime() - t0) / 1e9);
            double cpuStart = 0;
            for (Daemon d : daemons) {
                cpuStart += d.cpuSeconds();
            }
            m.put("start_cpu_s_total", cpuStart);
            Thread.sleep(2000); // let start-up work (JIT queues, trims) settle
            double cpu0 = 0;
            for (Daemon d : daemons) {
                cpu0 += d.cpuSeconds();
            }
            long w0 = System.nanoTime();
            Thread.sleep((long) (idleSeconds * 1000));
            double cpu1 = 0;
            long rss = 0;
            long pss = 0;
            long shmem = 0;
            for (Daemon d : daemons) {
                cpu1 += d.cpuSeconds();
                rss += Proc.statusKiB(d.process.pid(), "VmRSS");
                pss += Proc.pssKiB(d.process.pid());
                shmem += Proc.statusKiB(d.process.pid(), "RssShmem");
            }
            double window = (System.nanoTime() - w0) / 1e9;
            m.put("idle_cpu_ms_per_s_total", (cpu1 - cpu0) * 1000 / window);
            m.put("rss_mib_total", rss / 1024.0);
            m.put("pss_mib_total", pss / 1024.0);
            m.put("guest_memory_mib_total", shmem / 1024.0);
            m.put("rss_mib_each", rss / 1024.0 / count);
            m.put("pss_mib_each", pss / 1024.0 / count);
        } finally {
            for (VhostUserFrontend fe : fronts) {
                fe.close();
            }
            for (Daemon d : daemons) {
                d.close();
            }
            GuestBenchmark.deleteTree(root);
        }
        return m;
    }
}
