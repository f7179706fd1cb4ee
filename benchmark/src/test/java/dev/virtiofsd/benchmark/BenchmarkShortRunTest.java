package dev.virtiofsd.benchmark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Not a speed test: checks that the benchmark's short mode runs both daemons through every row
 * and writes a table and a JSON file with a positive figure in every cell.
 */
class BenchmarkShortRunTest {

    @Test
    void shortRunProducesEveryRowForBothDaemons() throws Exception {
        Path peer = Setup.defaultPeer();
        if (!Files.isExecutable(peer)) {
            fail("Rust virtiofsd 1.13 (the benchmark's peer) is not installed at " + peer
                    + ": run scripts/peer/install-virtiofsd.sh as root (CI does) before this test");
        }
        Benchmark.Settings s = Benchmark.Settings.shortSettings();
        // The guest benchmark boots QEMU guests: benchmark/run.sh runs it, not the build.
        s.skip = java.util.Set.of("guest");
        Path out = Path.of("target", "short-run").toAbsolutePath();
        s.out = out;
        Benchmark.Results r = Benchmark.run(s);

        String md = Files.readString(out.resolve("benchmark.md"));
        String json = Files.readString(out.resolve("benchmark.json"));
        int expectedRows = Load.Workload.values().length * s.depths.length;
        assertEquals(expectedRows, r.rows.size(), "rows measured");
        for (Load.Workload w : Load.Workload.values()) {
            for (int depth : s.depths) {
                String row = w.name() + "@" + depth;
                Map<String, List<Double>> cells = r.rows.get(row);
                assertTrue(cells != null, "row " + row + " missing");
                for (Daemon.Config c : Daemon.CONFIGS) {
                    double v = Report.median(cells.get(c.key()));
                    assertTrue(v > 0, row + " " + c.key() + " = " + v);
                }
                assertTrue(md.contains("| " + w.title + " | " + depth + " |"), "table row " + row);
                assertTrue(
                        json.contains("\"workload\": \"" + w.name() + "\", \"title\": \"" + w.title
                                + "\", \"in_flight\": " + depth),
                        "json row " + row);
            }
        }
        for (Daemon.Config c : Daemon.CONFIGS) {
            // Both daemons as they run by default: own mount namespace, seccomp filter.
            assertTrue(
                    r.confinement.get(c.key()).matches("Seccomp 2, CapEff 0x[0-9a-f]+, own mount namespace"),
                    c.key() + ": " + r.confinement.get(c.key()));
            assertTrue(Report.median(r.startupMillis.get(c.key())) > 0, "start-up of " + c.key());
            Map<String, Long> in = r.inodes.get(c.key());
            assertTrue(in.get("fds") > 0 && in.get("rss_kib") > 0, "fds/RSS of " + c.key() + ": " + in);
        }
        // The peer in "never" mode holds one O_PATH fd per looked-up file.
        assertTrue(r.inodes.get("peer-never").get("fds") >= s.files, "peer never fds " + r.inodes.get("peer-never"));
        assertTrue(!json.contains("null"), "a figure is missing in the JSON:\n" + json);
    }
}
