package org.example.hybrid.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.FileHandle;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;

/**
 * name_to_handle_at / open_by_handle_at through the daemon's native bundle, with a per-thread
 * {@code struct file_handle} buffer ({@code u32 handle_bytes; i32 handle_type; u8 f_handle[]}).
 */
final class Handles {
    private static final int HEADER = 8;
    private static final ThreadLocal<long[]> BUF = ThreadLocal.withInitial(() -> {
        long a = NativeMemory.allocate(8 + HEADER + Linux.MAX_HANDLE_SZ);
        return new long[] {a};
    });

    private Handles() {}

    /** The handle of the inode {@code pathFd} (O_PATH) is open on; EOVERFLOW/EOPNOTSUPP when it has none. */
    static FileHandle of(int pathFd, long mountId) throws ErrnoException {
        long base = BUF.get()[0];
        long fh = base + 8;
        NativeMemory.putInt(fh, Linux.MAX_HANDLE_SZ);
        NativeMemory.putInt(fh + 4, 0);
        Linux.nameToHandleAt(pathFd, Linux.EMPTY_PATH, fh, base, Linux.AT_EMPTY_PATH);
        int n = NativeMemory.getInt(fh);
        if (n <= 0 || n > Linux.MAX_HANDLE_SZ) {
            throw ErrnoException.of(Errno.EOVERFLOW);
        }
        byte[] b = new byte[n];
        NativeMemory.getBytes(fh + HEADER, b, 0, n);
        return new FileHandle(mountId, NativeMemory.getInt(fh + 4), b);
    }

    static int open(int mountFd, FileHandle handle, byte[] bytes, int flags) throws ErrnoException {
        long fh = BUF.get()[0] + 8;
        NativeMemory.putInt(fh, bytes.length);
        NativeMemory.putInt(fh + 4, handle.type());
        NativeMemory.putBytes(fh + HEADER, bytes, 0, bytes.length);
        return Linux.openByHandleAt(mountFd, fh, flags);
    }
}
