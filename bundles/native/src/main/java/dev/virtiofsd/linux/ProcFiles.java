package dev.virtiofsd.linux;

import dev.virtiofsd.api.ErrnoException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The few /proc files the daemon reads after start-up, readable also inside its sandbox, where /proc
 * is gone: the boot id is read once before, and /proc/self/mountinfo through an fd the sandbox opened
 * after it changed the root (so mount points are shown relative to the shared directory, and
 * mounts outside it not at all, as the daemon sees them).
 */
public final class ProcFiles {
    private static final String BOOT_ID = readBootId();
    private static final Object LOCK = new Object();
    private static volatile int mountinfoFd = -1;

    private ProcFiles() {}

    /** /proc/sys/kernel/random/boot_id, read when this class was first used ("" if unreadable). */
    public static String bootId() {
        return BOOT_ID;
    }

    private static String readBootId() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/random/boot_id"), StandardCharsets.US_ASCII)
                    .trim();
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * From now on {@link #mountinfo()} reads {@code fd}, an open /proc/self/mountinfo; called by the
     * sandbox once the root changed.
     */
    public static void useMountinfo(int fd) {
        mountinfoFd = fd;
    }

    /**
     * How many fds this process has open: the entries of /proc/self/fd, read through {@link
     * Linux#procDirFd()} (inside the sandbox /proc is gone and paths from the root or the working
     * directory are refused; that fd is the working directory).
     */
    public static int openFdCount() throws ErrnoException {
        int proc = Linux.procDirFd();
        int list = Linux.openat(
                proc, proc == Linux.AT_FDCWD ? "/proc/self/fd" : ".", Linux.O_RDONLY | Linux.O_DIRECTORY, 0);
        long buf = NativeMemory.allocate(8192);
        try {
            int count = 0;
            for (int n; (n = Linux.getdents64(list, buf, 8192)) > 0; ) {
                for (int off = 0; off < n; ) {
                    if (NativeMemory.getByte(buf + off + 19) != '.') {
                        count++;
                    }
                    off += NativeMemory.getShort(buf + off + 16) & 0xffff;
                }
            }
            return count - 1; // the listing's own fd
        } finally {
            NativeMemory.free(buf);
            Linux.close(list);
        }
    }

    /** The lines of this process's /proc/self/mountinfo. */
    public static List<String> mountinfo() throws IOException {
        int fd = mountinfoFd;
        if (fd < 0) {
            return Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8);
        }
        synchronized (LOCK) {
            long buf = NativeMemory.allocate(65536);
            try {
                Linux.lseek(fd, 0, Linux.SEEK_SET);
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                byte[] chunk = new byte[65536];
                for (int n; (n = Linux.read(fd, buf, 65536)) > 0; ) {
                    NativeMemory.getBytes(buf, chunk, 0, n);
                    out.write(chunk, 0, n);
                }
                return out.toString(StandardCharsets.UTF_8).lines().toList();
            } catch (ErrnoException e) {
                throw new IOException("reading mountinfo: " + e.getMessage(), e);
            } finally {
                NativeMemory.free(buf);
            }
        }
    }
}
