package dev.virtiofsd.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryReaderTest {
    private static final int DT_DIR = 4;
    private static final int DT_REG = 8;
    private static final int DT_LNK = 10;

    @TempDir
    Path dir;

    /** A directory of {@code n} files with long names, so that a small buffer needs many getdents64 calls. */
    private Set<String> populate(int n) throws Exception {
        Set<String> names = new TreeSet<>(Set.of(".", ".."));
        for (int i = 0; i < n; i++) {
            String name = "file-" + i + "-" + "x".repeat(100);
            Files.writeString(dir.resolve(name), "");
            names.add(name);
        }
        return names;
    }

    private static List<String> readAll(DirectoryReader r, int fd) throws ErrnoException {
        List<String> seen = new ArrayList<>();
        while (r.hasEntry(fd)) {
            seen.add(r.nameString());
            r.advance();
        }
        return seen;
    }

    @Test
    void readsEveryEntryAcrossManyBufferFills() throws Exception {
        Set<String> expected = populate(200);
        int fd = Linux.open(dir.toString(), Linux.O_RDONLY | Linux.O_DIRECTORY, 0);
        try (DirectoryReader r = new DirectoryReader(1024)) {
            List<String> seen = readAll(r, fd);
            assertEquals(expected.size(), seen.size(), "no entry twice, none missing");
            assertEquals(expected, new TreeSet<>(seen));
            assertFalse(r.hasEntry(fd), "stays at the end");
        } finally {
            Linux.close(fd);
        }
    }

    @Test
    void decodesInodeTypeAndName() throws Exception {
        Files.createDirectory(dir.resolve("sub"));
        Files.writeString(dir.resolve("reg"), "x");
        Files.createSymbolicLink(dir.resolve("link"), dir.resolve("reg"));
        Map<String, Long> inodes = new HashMap<>();
        for (String n : List.of("sub", "reg", "link")) {
            inodes.put(
                    n, (Long) Files.getAttribute(dir.resolve(n), "unix:ino", java.nio.file.LinkOption.NOFOLLOW_LINKS));
        }
        Map<String, Integer> types = new HashMap<>();
        int fd = Linux.open(dir.toString(), Linux.O_RDONLY | Linux.O_DIRECTORY, 0);
        try (DirectoryReader r = new DirectoryReader()) {
            while (r.hasEntry(fd)) {
                String n = r.nameString();
                assertEquals(n.getBytes(StandardCharsets.UTF_8).length, r.nameLength());
                assertEquals(0, NativeMemory.getByte(r.name() + r.nameLength()), "NUL-terminated in place");
                assertEquals(n.equals(".") || n.equals(".."), r.isDotOrDotDot());
                if (inodes.containsKey(n)) {
                    assertEquals(inodes.get(n), r.ino(), n);
                }
                types.put(n, r.type());
                r.advance();
            }
        } finally {
            Linux.close(fd);
        }
        assertEquals(DT_DIR, types.get("sub"));
        assertEquals(DT_REG, types.get("reg"));
        assertEquals(DT_LNK, types.get("link"));
        assertEquals(DT_DIR, types.get("."));
    }

    @Test
    void anEntryNotTakenStaysUnderTheCursor() throws Exception {
        populate(3);
        int fd = Linux.open(dir.toString(), Linux.O_RDONLY | Linux.O_DIRECTORY, 0);
        try (DirectoryReader r = new DirectoryReader()) {
            assertTrue(r.hasEntry(fd));
            String first = r.nameString();
            long off = r.nextOffset();
            assertTrue(r.hasEntry(fd));
            assertEquals(first, r.nameString(), "hasEntry without advance does not move");
            assertEquals(off, r.nextOffset());
            r.advance();
            assertTrue(r.hasEntry(fd));
            assertFalse(first.equals(r.nameString()));
        } finally {
            Linux.close(fd);
        }
    }

    @Test
    void resumesAtANextOffsetAfterASeek() throws Exception {
        populate(50);
        int fd = Linux.open(dir.toString(), Linux.O_RDONLY | Linux.O_DIRECTORY, 0);
        try (DirectoryReader r = new DirectoryReader(1024)) {
            List<String> all = new ArrayList<>();
            List<Long> offsets = new ArrayList<>();
            while (r.hasEntry(fd)) {
                all.add(r.nameString());
                offsets.add(r.nextOffset());
                r.advance();
            }
            // a client that took the first 20 entries asks again from the offset of the 20th
            Linux.lseek(fd, offsets.get(19), Linux.SEEK_SET);
            r.discard();
            assertEquals(all.subList(20, all.size()), readAll(r, fd));
        } finally {
            Linux.close(fd);
        }
    }

    /** One linux_dirent64 record, 8-byte aligned, as the kernel lays it out. */
    private static byte[] record(long ino, long off, int type, String name, int reclenOverride) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        int reclen = (DirectoryReader.NAME_OFFSET + n.length + 1 + 7) & ~7;
        ByteBuffer b = ByteBuffer.allocate(reclen).order(ByteOrder.nativeOrder());
        b.putLong(ino).putLong(off).putShort((short) (reclenOverride >= 0 ? reclenOverride : reclen));
        b.put((byte) type).put(n);
        return b.array();
    }

    private static byte[] concat(byte[]... parts) {
        ByteBuffer b = ByteBuffer.allocate(
                java.util.Arrays.stream(parts).mapToInt(p -> p.length).sum());
        for (byte[] p : parts) {
            b.put(p);
        }
        return b.array();
    }

    @Test
    void decodesRecordsLaidOutByHand() throws Exception {
        try (DirectoryReader r = new DirectoryReader()) {
            r.load(concat(record(7, 100, DT_REG, "a", -1), record(8, 200, DT_DIR, "bcdefghij", -1)));
            assertTrue(r.hasEntry(-1));
            assertEquals(7, r.ino());
            assertEquals(100, r.nextOffset());
            assertEquals(DT_REG, r.type());
            assertEquals("a", r.nameString());
            r.advance();
            assertTrue(r.hasEntry(-1));
            assertEquals(8, r.ino());
            assertEquals(200, r.nextOffset());
            assertEquals(DT_DIR, r.type());
            assertEquals("bcdefghij", r.nameString());
        }
    }

    @Test
    void aLyingRecordLengthIsEioNotAnOverread() {
        try (DirectoryReader r = new DirectoryReader()) {
            // d_reclen beyond what was returned
            r.load(record(7, 100, DT_REG, "a", 4000));
            assertEquals(
                    Errno.EIO,
                    assertThrows(ErrnoException.class, () -> r.hasEntry(-1)).errno());
            // d_reclen 0 would loop for ever
            r.load(record(7, 100, DT_REG, "a", 0));
            assertEquals(
                    Errno.EIO,
                    assertThrows(ErrnoException.class, () -> r.hasEntry(-1)).errno());
            // a record shorter than its header
            r.load(java.util.Arrays.copyOf(record(7, 100, DT_REG, "a", -1), 12));
            assertEquals(
                    Errno.EIO,
                    assertThrows(ErrnoException.class, () -> r.hasEntry(-1)).errno());
            // a name without its NUL inside the record
            byte[] noNul = record(7, 100, DT_REG, "abcd", -1);
            java.util.Arrays.fill(noNul, DirectoryReader.NAME_OFFSET, noNul.length, (byte) 'z');
            r.load(noNul);
            assertEquals(
                    Errno.EIO,
                    assertThrows(ErrnoException.class, () -> r.hasEntry(-1)).errno());
        }
    }

    @Test
    void aClosedReaderAnswersEbadf() {
        DirectoryReader r = new DirectoryReader();
        r.close();
        r.close();
        assertEquals(
                Errno.EBADF,
                assertThrows(ErrnoException.class, () -> r.hasEntry(0)).errno());
    }
}
