package dev.virtiofsd.it;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Flock;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.Statx;
import dev.virtiofsd.linux.Timespec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * System calls by path for tests, with exact errnos (java.nio maps several errnos to one
 * exception type). Every call allocates and frees its own native memory: tests are not a hot path.
 */
public final class Sys {
    public static final long UTIME_NOW = (1L << 30) - 1;
    public static final long UTIME_OMIT = (1L << 30) - 2;
    public static final short F_RDLCK = 0;
    public static final short F_WRLCK = 1;
    public static final short F_UNLCK = 2;
    public static final int FALLOC_FL_KEEP_SIZE = 1;
    public static final int FALLOC_FL_PUNCH_HOLE = 2;

    private Sys() {}

    /** A NUL-terminated copy of {@code s} in native memory; free with {@link NativeMemory#free}. */
    static long cstr(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        long a = NativeMemory.allocate(b.length + 1L);
        NativeMemory.putBytes(a, b, 0, b.length);
        return a;
    }

    interface PathCall {
        void run(long path) throws ErrnoException;
    }

    interface TwoPathCall {
        void run(long a, long b) throws ErrnoException;
    }

    static void withPath(Path p, PathCall call) throws ErrnoException {
        long a = cstr(p.toString());
        try {
            call.run(a);
        } finally {
            NativeMemory.free(a);
        }
    }

    static void withPaths(String p, String q, TwoPathCall call) throws ErrnoException {
        long a = cstr(p);
        long b = cstr(q);
        try {
            call.run(a, b);
        } finally {
            NativeMemory.free(a);
            NativeMemory.free(b);
        }
    }

    public static String errnoName(ErrnoException e) {
        return Errno.name(e.errno());
    }

    // ---- namespace ----------------------------------------------------------------------

    public static int open(Path p, int flags, int mode) throws ErrnoException {
        return Linux.openat(Linux.AT_FDCWD, p.toString(), flags, mode);
    }

    public static void close(int fd) {
        Linux.close(fd);
    }

    public static void mkdir(Path p, int mode) throws ErrnoException {
        withPath(p, a -> Linux.mkdirat(Linux.AT_FDCWD, a, mode));
    }

    public static void mknod(Path p, int mode, long dev) throws ErrnoException {
        withPath(p, a -> Linux.mknodat(Linux.AT_FDCWD, a, mode, dev));
    }

    public static void symlink(String target, Path link) throws ErrnoException {
        withPaths(target, link.toString(), (t, l) -> Linux.symlinkat(t, Linux.AT_FDCWD, l));
    }

    public static void link(Path from, Path to) throws ErrnoException {
        withPaths(from.toString(), to.toString(), (a, b) -> Linux.linkat(Linux.AT_FDCWD, a, Linux.AT_FDCWD, b, 0));
    }

    /** linkat(fd, "", AT_FDCWD, to, AT_EMPTY_PATH): gives an O_TMPFILE file a name. */
    public static void linkFd(int fd, Path to) throws ErrnoException {
        withPath(to, b -> Linux.linkat(fd, Linux.EMPTY_PATH, Linux.AT_FDCWD, b, Linux.AT_EMPTY_PATH));
    }

    public static void unlink(Path p) throws ErrnoException {
        withPath(p, a -> Linux.unlinkat(Linux.AT_FDCWD, a, 0));
    }

    public static void rmdir(Path p) throws ErrnoException {
        withPath(p, a -> Linux.unlinkat(Linux.AT_FDCWD, a, Linux.AT_REMOVEDIR));
    }

    public static void rename(Path from, Path to, int flags) throws ErrnoException {
        withPaths(
                from.toString(), to.toString(), (a, b) -> Linux.renameat2(Linux.AT_FDCWD, a, Linux.AT_FDCWD, b, flags));
    }

    public static String readlink(Path p) throws ErrnoException {
        long buf = NativeMemory.allocate(4096);
        try {
            int[] n = new int[1];
            withPath(p, a -> n[0] = Linux.readlinkat(Linux.AT_FDCWD, a, buf, 4096));
            return NativeMemory.getString(buf, n[0]);
        } finally {
            NativeMemory.free(buf);
        }
    }

    // ---- attributes ---------------------------------------------------------------------

    /** The fields of a statx result that are comparable between two directories. */
    public record Stat(
            int mode,
            int nlink,
            int uid,
            int gid,
            long size,
            long blocks,
            long ino,
            long rdev,
            long atimeSec,
            int atimeNsec,
            long mtimeSec,
            int mtimeNsec,
            long ctimeSec,
            int ctimeNsec) {
        public int type() {
            return mode & Linux.S_IFMT;
        }

        public int perm() {
            return mode & 07777;
        }

        /** Type, permission bits, link count, owner and size: what two twins must agree on. */
        public String shape() {
            return String.format(
                    "type=%s perm=%04o nlink=%d uid=%d gid=%d size=%d",
                    typeName(), perm(), nlink, uid, gid, type() == Linux.S_IFDIR ? -1 : size);
        }

        public String typeName() {
            switch (type()) {
                case Linux.S_IFREG:
                    return "reg";
                case Linux.S_IFDIR:
                    return "dir";
                case Linux.S_IFLNK:
                    return "lnk";
                case Linux.S_IFIFO:
                    return "fifo";
                case Linux.S_IFCHR:
                    return "chr";
                case Linux.S_IFBLK:
                    return "blk";
                case Linux.S_IFSOCK:
                    return "sock";
                default:
                    return "?" + type();
            }
        }
    }

    public static Stat lstat(Path p) throws ErrnoException {
        return stat(p, Linux.AT_SYMLINK_NOFOLLOW);
    }

    public static Stat stat(Path p) throws ErrnoException {
        return stat(p, 0);
    }

    private static Stat stat(Path p, int flags) throws ErrnoException {
        try (Statx s = new Statx()) {
            Linux.statx(Linux.AT_FDCWD, p.toString(), flags, Linux.STATX_BASIC_STATS, s);
            return of(s);
        }
    }

    public static Stat fstat(int fd) throws ErrnoException {
        try (Statx s = new Statx()) {
            Linux.statx(fd, Linux.EMPTY_PATH, Linux.AT_EMPTY_PATH, Linux.STATX_BASIC_STATS, s);
            return of(s);
        }
    }

    private static Stat of(Statx s) {
        return new Stat(
                s.mode(),
                s.nlink(),
                s.uid(),
                s.gid(),
                s.size(),
                s.blocks(),
                s.ino(),
                s.rdev(),
                s.atimeSec(),
                s.atimeNsec(),
                s.mtimeSec(),
                s.mtimeNsec(),
                s.ctimeSec(),
                s.ctimeNsec());
    }

    public static void chmod(Path p, int mode) throws ErrnoException {
        withPath(p, a -> Linux.fchmodat(Linux.AT_FDCWD, a, mode, 0));
    }

    public static void lchown(Path p, int uid, int gid) throws ErrnoException {
        withPath(p, a -> Linux.fchownat(Linux.AT_FDCWD, a, uid, gid, Linux.AT_SYMLINK_NOFOLLOW));
    }

    public static void utimens(Path p, long aSec, long aNsec, long mSec, long mNsec, int flags) throws ErrnoException {
        try (Timespec t = new Timespec(2)) {
            t.set(0, aSec, aNsec).set(1, mSec, mNsec);
            withPath(p, a -> t.utimensat(Linux.AT_FDCWD, a, flags));
        }
    }

    public static void truncate(Path p, long size) throws ErrnoException {
        int fd = open(p, Linux.O_WRONLY, 0);
        try {
            Linux.ftruncate(fd, size);
        } finally {
            close(fd);
        }
    }

    // ---- data ---------------------------------------------------------------------------

    public static int pwrite(int fd, byte[] data, long offset) throws ErrnoException {
        long b = NativeMemory.allocate(Math.max(1, data.length));
        try {
            NativeMemory.putBytes(b, data, 0, data.length);
            return Linux.pwrite(fd, b, data.length, offset);
        } finally {
            NativeMemory.free(b);
        }
    }

    public static byte[] pread(int fd, int size, long offset) throws ErrnoException {
        long b = NativeMemory.allocate(Math.max(1, size));
        try {
            int n = Linux.pread(fd, b, size, offset);
            byte[] r = new byte[n];
            NativeMemory.getBytes(b, r, 0, n);
            return r;
        } finally {
            NativeMemory.free(b);
        }
    }

    public static String readString(Path p) throws ErrnoException {
        int fd = open(p, Linux.O_RDONLY, 0);
        try {
            return new String(pread(fd, 1 << 16, 0), StandardCharsets.UTF_8);
        } finally {
            close(fd);
        }
    }

    public static void writeString(Path p, String s) throws ErrnoException {
        int fd = open(p, Linux.O_WRONLY | Linux.O_CREAT | Linux.O_TRUNC, 0644);
        try {
            pwrite(fd, s.getBytes(StandardCharsets.UTF_8), 0);
        } finally {
            close(fd);
        }
    }

    // ---- xattrs -------------------------------------------------------------------------

    public static void setxattr(Path p, String name, byte[] value, int flags) throws ErrnoException {
        long v = NativeMemory.allocate(Math.max(1, value.length));
        try {
            NativeMemory.putBytes(v, value, 0, value.length);
            withPaths(p.toString(), name, (a, n) -> Linux.pathSetxattr(a, n, v, value.length, flags));
        } finally {
            NativeMemory.free(v);
        }
    }

    /** getxattr with a buffer of {@code size} bytes (0 asks for the value's size). */
    public static String getxattr(Path p, String name, int size) throws ErrnoException {
        long v = NativeMemory.allocate(Math.max(1, size));
        try {
            int[] n = new int[1];
            withPaths(p.toString(), name, (a, q) -> n[0] = Linux.pathGetxattr(a, q, size == 0 ? 0 : v, size));
            return size == 0 ? "size=" + n[0] : NativeMemory.getString(v, n[0]);
        } finally {
            NativeMemory.free(v);
        }
    }

    /** The names of listxattr, only those in the given namespace prefix (e.g. "user."), sorted. */
    public static List<String> listxattr(Path p, String prefix) throws ErrnoException {
        long v = NativeMemory.allocate(65536);
        try {
            int[] n = new int[1];
            withPath(p, a -> n[0] = Linux.pathListxattr(a, v, 65536));
            List<String> names = new ArrayList<>();
            int start = 0;
            byte[] all = new byte[n[0]];
            NativeMemory.getBytes(v, all, 0, n[0]);
            for (int i = 0; i < all.length; i++) {
                if (all[i] == 0) {
                    String name = new String(all, start, i - start, StandardCharsets.UTF_8);
                    if (name.startsWith(prefix)) {
                        names.add(name);
                    }
                    start = i + 1;
                }
            }
            names.sort(null);
            return names;
        } finally {
            NativeMemory.free(v);
        }
    }

    public static void removexattr(Path p, String name) throws ErrnoException {
        withPaths(p.toString(), name, Linux::pathRemovexattr);
    }

    /** Names in a directory, sorted, as "[a, b]". */
    public static String listNames(Path dir) throws java.io.IOException {
        try (java.util.stream.Stream<Path> s = java.nio.file.Files.list(dir)) {
            return s.map(p -> p.getFileName().toString())
                    .sorted()
                    .collect(java.util.stream.Collectors.toList())
                    .toString();
        }
    }

    // ---- locks --------------------------------------------------------------------------

    /** An OFD lock command; returns for GETLK "type start len pid" of the conflicting lock. */
    public static String ofdLock(int fd, int cmd, short type, long start, long len) throws ErrnoException {
        try (Flock f = new Flock()) {
            f.set(type, start, len).ofdLock(fd, cmd);
            short t = f.type();
            String name = t == F_RDLCK ? "RDLCK" : t == F_WRLCK ? "WRLCK" : t == F_UNLCK ? "UNLCK" : "?" + t;
            if (t == F_UNLCK) {
                return name;
            }
            return name + " " + f.start() + " " + f.len() + " pid=" + f.pid();
        }
    }
}
