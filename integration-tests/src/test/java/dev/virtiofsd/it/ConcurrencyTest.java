package dev.virtiofsd.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Many client threads against the transport's reader threads at once: every request must get its
 * own reply (no cross-talk between workers' buffers), so every file reads back what its writer put.
 */
class ConcurrencyTest {
    @Test
    void parallelWritersReadersAndListersSeeConsistentData() throws Exception {
        try (Twins t = Twins.mount(o -> o)) {
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<Integer>> results = new ArrayList<>();
                for (int w = 0; w < 8; w++) {
                    int worker = w;
                    results.add(pool.submit(() -> {
                        Path dir = Files.createDirectory(t.mnt.resolve("w" + worker));
                        Random r = new Random(worker);
                        int checked = 0;
                        for (int i = 0; i < 40; i++) {
                            byte[] data = new byte[1 + r.nextInt(200_000)];
                            r.nextBytes(data);
                            Path f = dir.resolve("f" + i);
                            Files.write(f, data);
                            assertArrayEquals(data, Files.readAllBytes(f), f.toString());
                            if (i % 10 == 9) {
                                try (var s = Files.list(dir)) {
                                    assertEquals(i + 1, s.count(), "entries in " + dir);
                                }
                            }
                            checked++;
                        }
                        return checked;
                    }));
                }
                int total = 0;
                for (Future<Integer> f : results) {
                    total += f.get(60, TimeUnit.SECONDS);
                }
                assertEquals(320, total);
            } finally {
                pool.shutdownNow();
            }
            Shell.Result diff = Shell.run(60, "diff", "-r", t.mnt.toString(), t.shared.toString());
            assertEquals(0, diff.status(), diff.output());
        }
    }
}
