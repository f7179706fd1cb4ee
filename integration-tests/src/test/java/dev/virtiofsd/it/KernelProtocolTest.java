package dev.virtiofsd.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.linux.Linux;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Requests the kernel sends on its own schedule: FORGET (on cache eviction) and INTERRUPT. */
class KernelProtocolTest {
    @Test
    void evictedInodesAreForgottenAndTheirFdsClosed() throws Exception {
        try (Twins t = Twins.mount(o -> o)) {
            Path dir = Files.createDirectory(t.mnt.resolve("many"));
            for (int i = 0; i < 200; i++) {
                Files.writeString(dir.resolve("f" + i), "x");
            }
            for (int i = 0; i < 200; i++) {
                Sys.stat(dir.resolve("f" + i));
            }
            long before = t.mount.fileSystem().inodes();
            assertTrue(before >= 201, "looked-up inodes are held: " + before);
            long fdsBefore = t.mount.fileSystem().inodeFds();
            // Evicting dentries and inodes makes the kernel send FORGET/BATCH_FORGET for them.
            long after = before;
            for (int i = 0; i < 50 && after > 10; i++) {
                Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "2");
                Thread.sleep(100);
                after = t.mount.fileSystem().inodes();
            }
            assertTrue(after <= 10, "inodes after eviction: " + after + " (before " + before + ")");
            assertTrue(
                    t.mount.fileSystem().inodeFds() < fdsBefore - 150,
                    "fds closed: " + t.mount.fileSystem().inodeFds() + " of " + fdsBefore);
            assertEquals("x", Files.readString(dir.resolve("f7")), "and they can be looked up again");
        }
    }

    @Test
    void interruptedBlockingFlockReturnsAndTheMountKeepsServing() throws Exception {
        try (Twins t = Twins.mount(o -> o)) {
            Path f = t.mnt.resolve("locked");
            Files.writeString(f, "x");
            int fd = Sys.open(f, Linux.O_RDONLY, 0);
            try {
                Linux.flock(fd, Linux.LOCK_EX);
                // flock(1) blocks in FUSE SETLKW (or in the kernel's local lock); SIGINT after 1 s
                // makes the kernel send INTERRUPT for the pending request.
                Process p = new ProcessBuilder("timeout", "-s", "INT", "1", "flock", f.toString(), "true")
                        .redirectErrorStream(true)
                        .start();
                boolean exited = p.waitFor(8, TimeUnit.SECONDS);
                if (!exited) {
                    Linux.flock(fd, Linux.LOCK_UN); // unblock it before failing
                    p.waitFor(5, TimeUnit.SECONDS);
                }
                assertTrue(exited, "the interrupted flock(1) ended while the lock was still held");
                assertEquals(124, p.exitValue(), "timeout(1) reports the interrupted command");
                assertEquals("x", Files.readString(f), "the mount still serves");
                Shell.Result busy = Shell.run(10, "flock", "-n", f.toString(), "true");
                assertEquals(1, busy.status(), "the lock is still held: " + busy.output());
            } finally {
                Sys.close(fd);
            }
            Shell.Result free = Shell.run(10, "flock", "-n", f.toString(), "true");
            assertEquals(0, free.status(), "closing the fd released the lock: " + free.output());
        }
    }
}
