package dev.virtiofsd.it.framework;

import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.Statx;
import dev.virtiofsd.linux.UnixSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Native calls made with the native bundle's classes: {@link BundleDelegatingLoader} defines this
 * class so that every dev.virtiofsd.* name it links to resolves through the bundle's class loader
 * (and jnr/jffi through the system bundle), exactly as another bundle would see them. Only
 * java.* types cross back to the test.
 */
public final class NativeProbe {
    private NativeProbe() {}

    /** The class loader of the Linux class this probe linked against. */
    public static ClassLoader linuxLoader() {
        return Linux.class.getClassLoader();
    }

    /**
     * name_to_handle_at on {@code file}, open_by_handle_at through a directory fd on the same
     * mount, and statx of both fds: returns {ino by path, ino by handle fd, mnt_id, mount id from
     * name_to_handle_at}.
     */
    public static long[] handleRoundTrip(String dir, String file) throws Exception {
        long name = NativeMemory.allocate(4096);
        long handle = NativeMemory.allocate(8 + Linux.MAX_HANDLE_SZ);
        long mountId = NativeMemory.allocate(8);
        int dirFd = Linux.open(dir, Linux.O_RDONLY | Linux.O_DIRECTORY | Linux.O_CLOEXEC, 0);
        int byHandle = -1;
        int byPath = -1;
        try (Statx sx = new Statx()) {
            NativeMemory.putString(name, Paths.get(file).getFileName().toString());
            NativeMemory.putInt(handle, Linux.MAX_HANDLE_SZ);
            Linux.nameToHandleAt(dirFd, name, handle, mountId, 0);
            byHandle = Linux.openByHandleAt(dirFd, handle, Linux.O_PATH);
            byPath = Linux.openat(dirFd, name, Linux.O_PATH | Linux.O_CLOEXEC, 0);
            long inoByPath = sx.ofFd(byPath).ino();
            long mnt = sx.mntId();
            long inoByHandle = sx.ofFd(byHandle).ino();
            if (sx.mntId() != mnt) {
                throw new IllegalStateException("mount ids differ: " + mnt + " vs " + sx.mntId());
            }
            return new long[] {inoByPath, inoByHandle, mnt, NativeMemory.getInt(mountId)};
        } finally {
            if (byHandle >= 0) {
                Linux.close(byHandle);
            }
            if (byPath >= 0) {
                Linux.close(byPath);
            }
            Linux.close(dirFd);
            NativeMemory.free(name);
            NativeMemory.free(handle);
            NativeMemory.free(mountId);
        }
    }

    /**
     * Sends an fd of {@code file} (opened read-only) over a socketpair with SCM_RIGHTS along with
     * the payload "fd!", receives it on the other end, and reads the file through the received fd.
     * Returns "payload|content".
     */
    public static String scmRights(String file) throws Exception {
        int[] pair = Linux.socketpair();
        long buf = NativeMemory.allocate(4096);
        int fd = Linux.open(file, Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
        int received = -1;
        try (UnixSocket a = new UnixSocket(pair[0]);
                UnixSocket b = new UnixSocket(pair[1])) {
            byte[] payload = "fd!".getBytes(StandardCharsets.US_ASCII);
            NativeMemory.putBytes(buf, payload, 0, payload.length);
            a.send(buf, payload.length, new int[] {fd}, 1);
            Linux.close(fd);
            fd = -1;
            int[] fds = new int[UnixSocket.MAX_FDS];
            int n = b.recv(buf + 1024, 1024, fds);
            received = fds[0];
            String got = NativeMemory.getString(buf + 1024, n);
            if (fds[1] != -1) {
                throw new IllegalStateException("more than one fd arrived");
            }
            int len = Linux.pread(received, buf + 2048, 1024, 0);
            return got + "|" + NativeMemory.getString(buf + 2048, len);
        } finally {
            if (fd >= 0) {
                Linux.close(fd);
            }
            if (received >= 0) {
                Linux.close(received);
            }
            NativeMemory.free(buf);
        }
    }

    /** Writes 5 and 37 to an eventfd and reads the sum back (eventfd counters add up). */
    public static long eventfd() throws Exception {
        int efd = Linux.eventfd(0, 0);
        long buf = NativeMemory.allocate(8);
        try {
            NativeMemory.putLong(buf, 5);
            Linux.write(efd, buf, 8);
            NativeMemory.putLong(buf, 37);
            Linux.write(efd, buf, 8);
            NativeMemory.putLong(buf, 0);
            if (Linux.read(efd, buf, 8) != 8) {
                throw new IllegalStateException("short eventfd read");
            }
            return NativeMemory.getLong(buf);
        } finally {
            NativeMemory.free(buf);
            Linux.close(efd);
        }
    }

    /** Maps one memfd twice (MAP_SHARED), writes through the first mapping, reads through the second. */
    public static String memfdMmap(String text) throws Exception {
        int memfd = Linux.memfdCreate("virtiofsd-probe", Linux.MFD_CLOEXEC);
        long size = 2 * 4096;
        long a = 0;
        long b = 0;
        try {
            Linux.ftruncate(memfd, size);
            a = Linux.mmap(0, size, Linux.PROT_READ | Linux.PROT_WRITE, Linux.MAP_SHARED, memfd, 0);
            b = Linux.mmap(0, size, Linux.PROT_READ | Linux.PROT_WRITE, Linux.MAP_SHARED, memfd, 0);
            if (a == b) {
                throw new IllegalStateException("one mapping, not two");
            }
            NativeMemory.putString(a + 4096 + 17, text);
            return NativeMemory.getString(b + 4096 + 17);
        } finally {
            if (a != 0) {
                Linux.munmap(a, size);
            }
            if (b != 0) {
                Linux.munmap(b, size);
            }
            Linux.close(memfd);
        }
    }

    /** Used by the test to check the file it compares against exists from the bundle's view too. */
    public static boolean exists(String path) {
        return Files.exists(Path.of(path));
    }
}
