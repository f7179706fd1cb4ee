package dev.virtiofsd.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class NativeMemoryTest {
    @Test
    void stringsAndSearches() {
        long a = NativeMemory.allocate(64);
        try {
            assertEquals(5, NativeMemory.putString(a, "héllo".substring(0, 4)), "UTF-8 bytes, NUL not counted");
            assertEquals(0, NativeMemory.getByte(a + 5));
            assertEquals("héll", NativeMemory.getString(a));
            assertEquals(5, NativeMemory.strnlen(a, 64));
            assertEquals(-1, NativeMemory.strnlen(a, 5), "no NUL within the bound");
            assertEquals(2, NativeMemory.indexOf(a, 5, (byte) 0xa9), "second byte of é");
            assertEquals(-1, NativeMemory.indexOf(a, 5, (byte) 'z'));
        } finally {
            NativeMemory.free(a);
        }
    }

    @Test
    void copyFillAndWrap() {
        long a = NativeMemory.allocate(32);
        try {
            NativeMemory.fill(a, 32, (byte) 7);
            NativeMemory.putLong(a, 0x0102030405060708L);
            NativeMemory.copy(a, a + 16, 8);
            ByteBuffer b = NativeMemory.wrap(a, 32);
            assertEquals(0x0102030405060708L, b.getLong(16));
            assertEquals(7, b.get(8));
            assertEquals(a, NativeMemory.address(b));
            byte[] out = new byte[4];
            NativeMemory.getBytes(a + 8, out, 0, 4);
            assertEquals(7, out[3]);
        } finally {
            NativeMemory.free(a);
        }
        assertThrows(IllegalArgumentException.class, () -> NativeMemory.address(ByteBuffer.allocate(4)));
    }
}
