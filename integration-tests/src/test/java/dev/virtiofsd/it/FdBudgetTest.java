package dev.virtiofsd.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.passthrough.internal.PassthroughOptions;
import dev.virtiofsd.strategy.fd.internal.FdStrategy;
import dev.virtiofsd.strategy.handle.internal.HandlePreferredStrategy;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A guest that looks up more files than the inode fd budget allows gets ENFILE for the new ones,
 * while the daemon keeps fds for what the guest already holds: opening a file looked up earlier
 * still works. Handle identities hold no fd, so the budget does not limit them.
 */
class FdBudgetTest {
    private static final int BUDGET = 40;
    private static final int FILES = 100;

    @TempDir
    Path dir;

    private Path share() throws Exception {
        Path shared = Files.createDirectory(dir.resolve("shared"));
        for (int i = 0; i < FILES; i++) {
            Files.writeString(shared.resolve("f" + i), "content " + i);
        }
        return shared;
    }

    @Test
    void fdOnlyRefusesNewInodesBeyondTheBudgetAndKeepsServingKnownOnes() throws Exception {
        Path shared = share();
        Path mnt = Files.createDirectory(dir.resolve("mnt"));
        PassthroughOptions options =
                PassthroughOptions.of(shared).cache("always").inodeFdBudget(BUDGET);
        try (FuseMount m = FuseMount.mount(shared, mnt, new FdStrategy(), options)) {
            int ok = 0;
            int refused = 0;
            for (int i = 0; i < FILES; i++) {
                try {
                    Sys.lstat(mnt.resolve("f" + i));
                    ok++;
                } catch (ErrnoException e) {
                    assertEquals("ENFILE", Sys.errnoName(e), "f" + i);
                    refused++;
                }
            }
            // the root holds one fd of the budget
            assertEquals(BUDGET - 1, ok, "lookups within the budget");
            assertEquals(FILES - ok, refused);
            assertTrue(
                    m.fileSystem().inodeFds() <= BUDGET,
                    "inode fds: " + m.fileSystem().inodeFds());
            // a file the guest already holds can still be opened and read (needs a new fd)
            int fd = Sys.open(mnt.resolve("f0"), Linux.O_RDONLY, 0);
            Sys.close(fd);
            assertEquals("content 0", Files.readString(mnt.resolve("f0")));
        }
    }

    @Test
    void handleIdentitiesAreNotLimitedByTheBudget() throws Exception {
        Path shared = share();
        Path mnt = Files.createDirectory(dir.resolve("mnt"));
        PassthroughOptions options =
                PassthroughOptions.of(shared).cache("always").inodeFdBudget(BUDGET);
        try (FuseMount m = FuseMount.mount(shared, mnt, new HandlePreferredStrategy(), options)) {
            for (int i = 0; i < FILES; i++) {
                Sys.lstat(mnt.resolve("f" + i));
            }
            assertTrue(
                    m.fileSystem().inodes() >= FILES + 1,
                    "inodes: " + m.fileSystem().inodes());
        }
    }
}
