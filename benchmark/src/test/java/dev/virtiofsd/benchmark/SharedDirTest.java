package dev.virtiofsd.benchmark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shared directory holds the many files only when a part that looks them up runs. */
class SharedDirTest {

    @Test
    void theManyFilesAreMadeOnlyForTheInodeAndFootprintParts() {
        Benchmark.Settings s = new Benchmark.Settings();
        s.files = 7;
        assertEquals(7, s.manyFiles());
        s.skip = Set.of("inodes");
        assertEquals(7, s.manyFiles(), "the footprint part still looks them up");
        s.skip = Set.of("inodes", "footprint");
        assertEquals(0, s.manyFiles());
    }

    @Test
    void withoutManyFilesTheRowsStillHaveTheirFiles(@TempDir Path dir) throws Exception {
        Path shared = dir.resolve("shared");
        Benchmark.prepareSharedDir(shared, 0);
        assertEquals(0, count(shared.resolve(Load.MANY_DIR)));
        assertEquals(4096, Files.size(shared.resolve(Load.SMALL_FILE)));
        assertEquals(1000, count(shared.resolve(Load.BIG_DIR)));
        assertTrue(Files.isDirectory(shared.resolve(Load.CREATE_DIR)));

        Benchmark.prepareSharedDir(shared, 3);
        assertEquals(3, count(shared.resolve(Load.MANY_DIR)));
    }

    private static long count(Path d) throws Exception {
        try (Stream<Path> s = Files.list(d)) {
            return s.count();
        }
    }
}
