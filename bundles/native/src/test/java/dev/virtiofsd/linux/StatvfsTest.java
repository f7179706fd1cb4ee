package dev.virtiofsd.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StatvfsTest {
    @TempDir
    Path dir;

    @Test
    void fieldsAgreeWithTheJdksFileStore() throws Exception {
        FileStore store = Files.getFileStore(dir);
        int fd = Linux.open(dir.toString(), Linux.O_PATH | Linux.O_DIRECTORY, 0);
        try (Statvfs s = new Statvfs()) {
            s.ofFd(fd);
            // The JDK reads the same struct in C: total space is f_blocks * f_frsize.
            assertEquals(store.getTotalSpace(), s.blocks() * s.fragmentSize());
            assertTrue(s.blockSize() > 0 && Long.bitCount(s.blockSize()) == 1, "f_bsize " + s.blockSize());
            assertTrue(s.freeBlocks() >= s.availableBlocks(), "bfree >= bavail");
            assertTrue(s.blocks() >= s.freeBlocks(), "blocks >= bfree");
            assertTrue(s.files() >= s.freeFiles(), "files >= ffree");
            assertEquals(255, s.nameMax(), "f_namemax of " + store.type());
        } finally {
            Linux.close(fd);
        }
    }

    @Test
    void perThreadBufferIsReused() {
        assertTrue(Statvfs.perThread() == Statvfs.perThread());
    }
}
