package dev.virtiofsd.strategy.handle.internal;

import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;

/**
 * Per-thread native memory for a {@code struct file_handle} ({@code u32 handle_bytes; i32
 * handle_type; u8 f_handle[]}) plus the int mount id name_to_handle_at writes. Sized for
 * MAX_HANDLE_SZ; grows (rarely) when a filesystem asks for more. One small block per thread that
 * ever handles a request, never freed: the daemon's worker threads live as long as it does.
 */
final class HandleScratch {
    static final int HEADER = 8;
    private static final ThreadLocal<HandleScratch> SCRATCH = ThreadLocal.withInitial(HandleScratch::new);

    private long address;
    private int capacity;

    private HandleScratch() {
        capacity = Linux.MAX_HANDLE_SZ;
        address = NativeMemory.allocate(8 + HEADER + capacity);
    }

    static HandleScratch get() {
        return SCRATCH.get();
    }

    /** Address of the int the kernel writes the mount id to. */
    long mountIdOut() {
        return address;
    }

    /** Address of a file_handle with room for {@code handleBytes} bytes of f_handle. */
    long fileHandle(int handleBytes) {
        if (handleBytes > capacity) {
            long bigger = NativeMemory.allocate(8 + HEADER + handleBytes);
            NativeMemory.free(address);
            address = bigger;
            capacity = handleBytes;
        }
        return address + 8;
    }

    static void write(long fh, int type, byte[] bytes) {
        NativeMemory.putInt(fh, bytes.length);
        NativeMemory.putInt(fh + 4, type);
        NativeMemory.putBytes(fh + HEADER, bytes, 0, bytes.length);
    }

    static int handleBytes(long fh) {
        return NativeMemory.getInt(fh);
    }

    static int handleType(long fh) {
        return NativeMemory.getInt(fh + 4);
    }

    static byte[] bytes(long fh) {
        int n = handleBytes(fh);
        byte[] b = new byte[n];
        NativeMemory.getBytes(fh + HEADER, b, 0, n);
        return b;
    }
}
