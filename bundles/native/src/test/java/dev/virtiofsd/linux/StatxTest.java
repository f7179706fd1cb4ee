package dev.virtiofsd.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StatxTest {
    @TempDir
    Path dir;

    @Test
    void fieldsAgreeWithTheJdksUnixAttributes() throws Exception {
        Path f = Files.writeString(dir.resolve("f"), "hello, statx");
        Files.setLastModifiedTime(f, FileTime.from(Instant.ofEpochSecond(1_234_567_890L, 111_222_333L)));
        Map<String, Object> u = Files.readAttributes(f, "unix:*", LinkOption.NOFOLLOW_LINKS);
        int fd = Linux.open(f.toString(), Linux.O_PATH, 0);
        try (Statx s = new Statx()) {
            s.ofFd(fd);
            assertEquals(u.get("ino"), s.ino());
            assertEquals(u.get("dev"), s.dev());
            assertEquals(u.get("mode"), s.mode());
            assertEquals(u.get("nlink"), s.nlink());
            assertEquals(u.get("uid"), s.uid());
            assertEquals(u.get("gid"), s.gid());
            assertEquals(12L, s.size());
            assertEquals(1_234_567_890L, s.mtimeSec());
            assertEquals(111_222_333, s.mtimeNsec());
            assertFalse(s.isDirectory());
            assertTrue(s.mntId() != 0, "STATX_MNT_ID (Linux 5.8+)");
        } finally {
            Linux.close(fd);
        }
    }

    @Test
    void statOfANameInADirectoryDoesNotFollowLinks() throws Exception {
        Files.createDirectory(dir.resolve("sub"));
        Files.createSymbolicLink(dir.resolve("link"), dir.resolve("sub"));
        int dfd = Linux.open(dir.toString(), Linux.O_PATH | Linux.O_DIRECTORY, 0);
        long name = NativeMemory.allocate(16);
        try (Statx s = new Statx()) {
            NativeMemory.putString(name, "sub");
            assertTrue(s.of(dfd, name).isDirectory());
            NativeMemory.putString(name, "link");
            assertEquals(Linux.S_IFLNK, s.of(dfd, name).mode() & Linux.S_IFMT);
        } finally {
            NativeMemory.free(name);
            Linux.close(dfd);
        }
    }

    @Test
    void deviceNumbersRoundTripThroughGlibcsEncoding() {
        long[][] cases = {{0, 0}, {8, 1}, {259, 65536}, {0xfff, 0xff}, {0x12345, 0xabcdef}};
        for (long[] c : cases) {
            long dev = Statx.makedev(c[0], c[1]);
            assertEquals(c[0], Statx.major(dev), "major of " + c[0] + ":" + c[1]);
            assertEquals(c[1], Statx.minor(dev), "minor of " + c[0] + ":" + c[1]);
        }
        assertEquals(0x801L, Statx.makedev(8, 1), "sda1 is 8:1 = 0x801");
    }
}
