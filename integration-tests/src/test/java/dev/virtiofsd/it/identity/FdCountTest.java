package dev.virtiofsd.it.identity;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.introspect.InodeStats;
import dev.virtiofsd.it.FuseMount;
import dev.virtiofsd.it.Sys;
import dev.virtiofsd.passthrough.internal.PassthroughOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 5, "done when" 2: after the client looks up 10,000 files (stat through the mount with
 * cache=always, so the kernel keeps every lookup), fd-only holds about 10,000 inode fds and both
 * handle strategies hold only a handful (mount fds plus the root), by the daemon's own count
 * ({@link InodeStats#inodeFds()}) and by /proc/self/fd of this process (the daemon runs in it).
 */
class FdCountTest {
    private static final int FILES = 10_000;
    /** "A handful": the root's fd and mount fds, with room for a transport fd or two. */
    private static final int HANDFUL = 8;

    private static Path base;
    private static Path shared;

    @BeforeAll
    static void createFiles() throws Exception {
        base = Files.createTempDirectory("fd-count");
        shared = Files.createDirectory(base.resolve("shared"));
        Path many = Files.createDirectory(shared.resolve("many"));
        for (int i = 0; i < FILES; i++) {
            Files.createFile(many.resolve("f" + i));
        }
    }

    @AfterAll
    static void cleanUp() {
        Strategies.deleteTree(base);
    }

    @ParameterizedTest
    @ValueSource(strings = {"fd", "handle-preferred", "handle-only"})
    void fdsHeldAfterTenThousandLookups(String strategy) throws Exception {
        Path mnt = Files.createDirectory(base.resolve("mnt-" + strategy));
        PassthroughOptions options = PassthroughOptions.of(shared).cache("always");
        long before = Strategies.openFds();
        long daemonFds;
        long processFds;
        long inodes;
        Map<String, Long> kinds;
        try (FuseMount m = FuseMount.mount(shared, mnt, Strategies.byName(strategy), options)) {
            Path many = mnt.resolve("many");
            for (int i = 0; i < FILES; i++) {
                Sys.lstat(many.resolve("f" + i));
            }
            InodeStats stats = m.fileSystem();
            daemonFds = stats.inodeFds();
            inodes = stats.inodes();
            kinds = stats.inodesByKind();
            processFds = Strategies.openFds() - before;
        } finally {
            Files.deleteIfExists(mnt);
        }
        String report = strategy + ": inodes=" + inodes + " byKind=" + kinds + " inodeFds=" + daemonFds
                + " process fds (delta incl. transport)=" + processFds;
        System.out.println(report);
        assertTrue(inodes >= FILES + 2, "the client holds every lookup: " + report);
        if (strategy.equals("fd")) {
            assertTrue(daemonFds >= FILES && daemonFds <= FILES + HANDFUL, report);
            assertTrue(processFds >= FILES && processFds <= FILES + 2L * HANDFUL, report);
            assertTrue(kinds.getOrDefault("fd", 0L) >= FILES, report);
        } else {
            assertTrue(daemonFds <= HANDFUL, report);
            assertTrue(processFds <= 2L * HANDFUL, report);
            assertTrue(kinds.getOrDefault("handle", 0L) >= FILES, report);
            assertTrue(kinds.getOrDefault("fd", 0L) <= 1, "no O_PATH fallback on ext4: " + report);
        }
        assertTrue(Strategies.openFds() <= before + 2, "unmount released every fd");
    }
}
