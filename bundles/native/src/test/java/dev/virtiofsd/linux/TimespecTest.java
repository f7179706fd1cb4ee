package dev.virtiofsd.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TimespecTest {
    @TempDir
    Path dir;

    @Test
    void utimensatSetsBothTimesToTheNanosecond() throws Exception {
        Path f = Files.writeString(dir.resolve("f"), "x");
        long path = NativeMemory.allocate(4096);
        try (Timespec t = new Timespec(2)) {
            NativeMemory.putString(path, f.toString());
            t.set(0, 1_000_000_000L, 123_456_789L).set(1, 1_500_000_000L, 987_654_321L);
            t.utimensat(Linux.AT_FDCWD, path, 0);
            BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
            assertEquals(FileTime.from(Instant.ofEpochSecond(1_000_000_000L, 123_456_789L)), a.lastAccessTime());
            assertEquals(FileTime.from(Instant.ofEpochSecond(1_500_000_000L, 987_654_321L)), a.lastModifiedTime());

            // UTIME_OMIT leaves a time alone, whatever the seconds say
            t.set(0, 42, Timespec.UTIME_OMIT).set(1, 2_000_000_000L, 5);
            t.utimensat(Linux.AT_FDCWD, path, 0);
            a = Files.readAttributes(f, BasicFileAttributes.class);
            assertEquals(FileTime.from(Instant.ofEpochSecond(1_000_000_000L, 123_456_789L)), a.lastAccessTime());
            assertEquals(FileTime.from(Instant.ofEpochSecond(2_000_000_000L, 5)), a.lastModifiedTime());
            assertEquals(2_000_000_000L, t.seconds(1));
            assertEquals(5, t.nanos(1));
        } finally {
            NativeMemory.free(path);
        }
    }

    @Test
    void indexesOutsideTheArrayAreRefused() {
        try (Timespec t = new Timespec(1)) {
            assertThrows(IndexOutOfBoundsException.class, () -> t.set(1, 0, 0));
            assertThrows(IllegalStateException.class, () -> t.utimensat(Linux.AT_FDCWD, 0, 0));
        }
    }
}
