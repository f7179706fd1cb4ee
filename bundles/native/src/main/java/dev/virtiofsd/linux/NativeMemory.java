package dev.virtiofsd.linux;

import com.kenai.jffi.MemoryIO;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Raw access to native memory by address (host-endian, which is little-endian on the platforms the
 * daemon runs on). Callers are responsible for bounds: every address they pass must lie in memory
 * they own or have validated (guest memory regions are checked by the transport).
 */
public final class NativeMemory {
    private static final MemoryIO IO = MemoryIO.getInstance();

    private NativeMemory() {}

    /** Allocates {@code size} zeroed bytes outside the heap; release with {@link #free}. */
    public static long allocate(long size) {
        long a = IO.allocateMemory(size, true);
        if (a == 0) {
            throw new OutOfMemoryError("native allocation of " + size + " bytes");
        }
        return a;
    }

    public static void free(long address) {
        if (address != 0) {
            IO.freeMemory(address);
        }
    }

    public static byte getByte(long a) {
        return IO.getByte(a);
    }

    public static short getShort(long a) {
        return IO.getShort(a);
    }

    public static int getInt(long a) {
        return IO.getInt(a);
    }

    public static long getLong(long a) {
        return IO.getLong(a);
    }

    public static void putByte(long a, byte v) {
        IO.putByte(a, v);
    }

    public static void putShort(long a, short v) {
        IO.putShort(a, v);
    }

    public static void putInt(long a, int v) {
        IO.putInt(a, v);
    }

    public static void putLong(long a, long v) {
        IO.putLong(a, v);
    }

    public static void copy(long src, long dst, long size) {
        IO.copyMemory(src, dst, size);
    }

    public static void fill(long a, long size, byte value) {
        IO.setMemory(a, size, value);
    }

    public static void getBytes(long a, byte[] dst, int off, int len) {
        IO.getByteArray(a, dst, off, len);
    }

    public static void putBytes(long a, byte[] src, int off, int len) {
        IO.putByteArray(a, src, off, len);
    }

    /** Length of the NUL-terminated string at {@code a}, looking at most {@code max} bytes; -1 if none. */
    public static int strnlen(long a, int max) {
        long p = IO.memchr(a, 0, max);
        return p == 0 ? -1 : (int) (p - a);
    }

    /** The index of byte {@code value} in {@code [a, a+len)}, or -1. */
    public static int indexOf(long a, int len, byte value) {
        long p = IO.memchr(a, value & 0xff, len);
        return p == 0 ? -1 : (int) (p - a);
    }

    /** Writes {@code s} as UTF-8 plus a NUL at {@code a}; returns the bytes written without the NUL. */
    public static int putString(long a, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        IO.putByteArray(a, b, 0, b.length);
        IO.putByte(a + b.length, (byte) 0);
        return b.length;
    }

    /** Reads the NUL-terminated UTF-8 string at {@code a}; for logs and set-up paths. */
    public static String getString(long a) {
        return new String(IO.getZeroTerminatedByteArray(a), StandardCharsets.UTF_8);
    }

    public static String getString(long a, int len) {
        byte[] b = new byte[len];
        IO.getByteArray(a, b, 0, len);
        return new String(b, StandardCharsets.UTF_8);
    }

    /** A native-order direct ByteBuffer over {@code [a, a+len)}; it does not own the memory. */
    public static ByteBuffer wrap(long a, int len) {
        return IO.newDirectByteBuffer(a, len).order(ByteOrder.nativeOrder());
    }

    /** The address of a direct buffer's first byte. */
    public static long address(ByteBuffer direct) {
        if (!direct.isDirect()) {
            throw new IllegalArgumentException("not a direct buffer");
        }
        return IO.getDirectBufferAddress(direct);
    }
}
