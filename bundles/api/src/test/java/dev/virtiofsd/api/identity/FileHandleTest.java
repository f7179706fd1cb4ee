package dev.virtiofsd.api.identity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FileHandleTest {
    /** An ext4-like handle: inode number then generation, little endian. */
    private static byte[] ext4(int ino, int generation) {
        return ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putInt(ino)
                .putInt(generation)
                .array();
    }

    @Test
    void equalityCoversMountTypeAndEveryByte() {
        FileHandle a = new FileHandle(21, 1, ext4(12, 1));
        assertEquals(a, new FileHandle(21, 1, ext4(12, 1)));
        assertEquals(a.hashCode(), new FileHandle(21, 1, ext4(12, 1)).hashCode());
        assertNotEquals(a, new FileHandle(22, 1, ext4(12, 1)), "another mount");
        assertNotEquals(a, new FileHandle(21, 2, ext4(12, 1)), "another handle type");
        assertNotEquals(a, new FileHandle(21, 1, ext4(12, 2)), "a reused inode number: new generation");
        assertNotEquals(a, new FileHandle(21, 1, new byte[] {12, 0, 0, 0}), "a prefix");
    }

    @Test
    void bytesAreCopiedInAndOut() {
        byte[] raw = ext4(5, 6);
        FileHandle h = new FileHandle(1, 1, raw);
        raw[0] = 99;
        assertArrayEquals(ext4(5, 6), h.bytes(), "the caller's array is not kept");
        h.bytes()[0] = 99;
        assertArrayEquals(ext4(5, 6), h.bytes(), "nor handed out");
        byte[] dst = new byte[10];
        h.copyTo(dst, 2);
        assertEquals(5, dst[2]);
        assertEquals(8, h.length());
        assertEquals("FileHandle[mnt=1, type=1, 0500000006000000]", h.toString());
    }

    @Test
    void handlesDifferingOnlyInTheirGenerationSpreadOverBuckets() {
        // one inode number reused 4096 times: the case the generation exists for
        int buckets = 256;
        int[] load = new int[buckets];
        Set<Integer> hashes = new HashSet<>();
        int n = 4096;
        for (int g = 0; g < n; g++) {
            int hash = new FileHandle(21, 1, ext4(1234, g)).hashCode();
            hashes.add(hash);
            load[(hash ^ (hash >>> 16)) & (buckets - 1)]++;
        }
        assertEquals(n, hashes.size(), "no two generations share a hash");
        int max = 0;
        for (int l : load) {
            max = Math.max(max, l);
        }
        assertTrue(max <= 3 * n / buckets, "fullest bucket " + max + " of mean " + n / buckets);
    }
}
