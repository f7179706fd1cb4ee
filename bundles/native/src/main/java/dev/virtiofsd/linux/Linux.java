package dev.virtiofsd.linux;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.SegmentList;
import dev.virtiofsd.linux.internal.LibC;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

/**
 * Linux system calls as static methods that throw {@link ErrnoException} instead of returning -1.
 * Pointer arguments are native addresses. Nothing here allocates on the Java heap except where a
 * method says so, and nothing logs.
 */
public final class Linux {
    // open(2) flags (x86-64 and aarch64 agree on these except where noted)
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_ACCMODE = 3;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_NOCTTY = 0400;
    public static final int O_TRUNC = 01000;
    public static final int O_APPEND = 02000;
    public static final int O_NONBLOCK = 04000;
    public static final int O_DSYNC = 010000;
    public static final int O_DIRECT = 040000;
    public static final int O_LARGEFILE = 0100000;
    public static final int O_DIRECTORY = 0200000;
    public static final int O_NOFOLLOW = 0400000;
    public static final int O_NOATIME = 01000000;
    public static final int O_CLOEXEC = 02000000;
    public static final int O_PATH = 010000000;
    public static final int O_TMPFILE = 020000000 | O_DIRECTORY;

    public static final int AT_FDCWD = -100;
    public static final int AT_SYMLINK_NOFOLLOW = 0x100;
    public static final int AT_REMOVEDIR = 0x200;
    public static final int AT_SYMLINK_FOLLOW = 0x400;
    public static final int AT_EMPTY_PATH = 0x1000;

    public static final int RENAME_NOREPLACE = 1;
    public static final int RENAME_EXCHANGE = 2;
    public static final int RENAME_WHITEOUT = 4;

    public static final int S_IFMT = 0170000;
    public static final int S_IFSOCK = 0140000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFBLK = 0060000;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFIFO = 0010000;
    public static final int S_ISUID = 04000;
    public static final int S_ISGID = 02000;

    public static final int SEEK_SET = 0;
    public static final int SEEK_CUR = 1;
    public static final int SEEK_END = 2;
    public static final int SEEK_DATA = 3;
    public static final int SEEK_HOLE = 4;

    public static final int F_DUPFD_CLOEXEC = 1030;
    public static final int F_GETFL = 3;
    public static final int F_SETFL = 4;
    public static final int F_OFD_GETLK = 36;
    public static final int F_OFD_SETLK = 37;
    public static final int F_OFD_SETLKW = 38;
    public static final int LOCK_SH = 1;
    public static final int LOCK_EX = 2;
    public static final int LOCK_NB = 4;
    public static final int LOCK_UN = 8;

    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 1;
    public static final int MAP_PRIVATE = 2;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final long MAP_FAILED = -1L;

    public static final int EFD_CLOEXEC = 02000000;
    public static final int EFD_NONBLOCK = 04000;
    public static final int MFD_CLOEXEC = 1;

    public static final int POLLIN = 1;
    public static final int POLLERR = 8;
    public static final int POLLHUP = 0x10;
    public static final int POLLNVAL = 0x20;

    public static final int AF_UNIX = 1;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_CLOEXEC = 02000000;
    public static final int SOL_SOCKET = 1;
    public static final int SCM_RIGHTS = 1;
    public static final int MSG_CMSG_CLOEXEC = 0x40000000;
    public static final int MSG_NOSIGNAL = 0x4000;

    public static final long MS_NOSUID = 2;
    public static final long MS_NODEV = 4;
    public static final long MS_NOEXEC = 8;
    public static final long MS_BIND = 4096;
    public static final long MS_REC = 16384;
    public static final long MS_PRIVATE = 1 << 18;
    public static final long MS_SLAVE = 1 << 19;
    public static final int MNT_DETACH = 2;

    public static final int XATTR_CREATE = 1;
    public static final int XATTR_REPLACE = 2;

    public static final int STATX_BASIC_STATS = 0x7ff;
    public static final int STATX_MNT_ID = 0x1000;

    /** Largest {@code f_handle} a file handle can have (MAX_HANDLE_SZ). */
    public static final int MAX_HANDLE_SZ = 128;

    private static final LibC C;
    private static final Runtime RUNTIME;
    private static final boolean AARCH64 = "aarch64".equals(System.getProperty("os.arch"));
    private static final long SYS_SETRESUID = AARCH64 ? 147 : 117;
    private static final long SYS_SETRESGID = AARCH64 ? 149 : 119;
    private static final long SYS_GETTID = AARCH64 ? 178 : 186;
    private static final long SYS_TGKILL = AARCH64 ? 131 : 234;
    private static final long SYS_COPY_FILE_RANGE = AARCH64 ? 285 : 326;
    private static final long SYS_UNSHARE = AARCH64 ? 97 : 272;
    private static final long CLONE_FS = 0x200;
    private static final long SYS_PIVOT_ROOT = AARCH64 ? 41 : 155;
    private static final long SYS_SECCOMP = AARCH64 ? 277 : 317;
    private static final long SYS_CAPGET = AARCH64 ? 90 : 125;
    /** A NUL byte: the "" path of AT_EMPTY_PATH calls. */
    public static final long EMPTY_PATH;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    static {
        C = LibraryLoader.create(LibC.class).load("c");
        RUNTIME = Runtime.getRuntime(C);
        EMPTY_PATH = NativeMemory.allocate(8);
    }

    private Linux() {}

    /** Per-thread native scratch space for small arguments (proc paths, small structs, iovecs). */
    private static final class Scratch {
        static final int PATH = 0;
        /** 64 bytes for small structs: copy_file_range offsets, a timespec. */
        static final int SMALL = 64;

        static final int IOV = 128;
        static final int IOV_MAX = 1024;
        final long base = NativeMemory.allocate(IOV + 16L * IOV_MAX);
    }

    /** The raw binding, for the other classes of this bundle. */
    static LibC libc() {
        return C;
    }

    public static int errno() {
        return RUNTIME.getLastError();
    }

    private static int check(int r) throws ErrnoException {
        if (r < 0) {
            throw ErrnoException.of(errno());
        }
        return r;
    }

    private static long check(long r) throws ErrnoException {
        if (r < 0) {
            throw ErrnoException.of(errno());
        }
        return r;
    }

    // ---- fds and paths -------------------------------------------------------------------

    public static int open(String path, int flags, int mode) throws ErrnoException {
        int r = C.open(path, flags | O_CLOEXEC, mode);
        if (r < 0) {
            throw ErrnoException.of(errno(), "open " + path);
        }
        return r;
    }

    /** openat(2); {@code path} is the address of a NUL-terminated name. O_CLOEXEC is always added. */
    public static int openat(int dirfd, long path, int flags, int mode) throws ErrnoException {
        return check(C.openat(dirfd, path, flags | O_CLOEXEC, mode));
    }

    public static int openat(int dirfd, String path, int flags, int mode) throws ErrnoException {
        return check(C.openat(dirfd, path, flags | O_CLOEXEC, mode));
    }

    /** Reopens the file behind {@code fd} (typically O_PATH) with new flags, through /proc/self/fd. */
    public static int reopen(int fd, int flags) throws ErrnoException {
        return check(C.openat(procDirFd(), procPath(fd), (flags & ~(O_NOFOLLOW | O_CREAT)) | O_CLOEXEC, 0));
    }

    /**
     * Where {@link #procPath} is relative to: {@link #AT_FDCWD} (the path is "/proc/self/fd/N"), or,
     * once the sandbox has taken /proc away, an fd of this process's /proc/self/fd directory (the
     * path is "N"). Use it as the dirfd of *at calls on a proc path.
     */
    public static int procDirFd() {
        return procFdDir;
    }

    /**
     * The address of "/proc/self/fd/N" (or "N", relative to {@link #procDirFd()} and to the working
     * directory, inside the sandbox) in this thread's scratch space, valid until the next call on
     * this thread. Calls on that path act on the file behind the fd (also an O_PATH fd).
     */
    public static long procPath(int fd) {
        long p = SCRATCH.get().base + Scratch.PATH;
        byte[] prefix = procFdDir == AT_FDCWD ? PROC_PREFIX : NO_PREFIX;
        NativeMemory.putBytes(p, prefix, 0, prefix.length);
        long q = p + prefix.length;
        if (fd == 0) {
            NativeMemory.putByte(q++, (byte) '0');
        } else {
            int digits = 0;
            for (int v = fd; v > 0; v /= 10) {
                digits++;
            }
            for (int v = fd, i = digits - 1; v > 0; v /= 10, i--) {
                NativeMemory.putByte(q + i, (byte) ('0' + v % 10));
            }
            q += digits;
        }
        NativeMemory.putByte(q, (byte) 0);
        return p;
    }

    private static final byte[] PROC_PREFIX = "/proc/self/fd/".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final byte[] NO_PREFIX = new byte[0];
    /** See {@link #procDirFd()}; set once, before the request threads start, by the sandbox. */
    private static volatile int procFdDir = AT_FDCWD;

    /**
     * From now on proc paths are "N" relative to {@code fd}, an fd of this process's
     * /proc/self/fd directory, which is also the working directory (for the path-only xattr
     * calls). Called by the sandbox when it takes /proc out of the process's view.
     */
    public static void useProcFdDirectory(int fd) throws ErrnoException {
        check(C.fchdir(fd));
        procFdDir = fd;
    }

    public static void close(int fd) {
        if (fd >= 0) {
            C.close(fd);
        }
    }

    /**
     * The mount id of {@code fd} from the {@code mnt_id:} line of /proc/self/fdinfo (Linux 3.15+),
     * for kernels whose statx has no STATX_MNT_ID. A rare path: plain Java I/O.
     */
    public static long fdinfoMountId(int fd) throws ErrnoException {
        java.util.List<String> lines;
        try {
            lines = java.nio.file.Files.readAllLines(java.nio.file.Paths.get("/proc/self/fdinfo/" + fd));
        } catch (java.io.IOException e) {
            throw ErrnoException.of(dev.virtiofsd.api.Errno.EIO, "read /proc/self/fdinfo/" + fd);
        }
        for (String line : lines) {
            if (line.startsWith("mnt_id:")) {
                try {
                    return Long.parseLong(line.substring(7).trim());
                } catch (NumberFormatException e) {
                    break;
                }
            }
        }
        throw ErrnoException.of(dev.virtiofsd.api.Errno.EIO, "no mnt_id in /proc/self/fdinfo/" + fd);
    }

    public static int dup(int fd) throws ErrnoException {
        return check(C.fcntl(fd, F_DUPFD_CLOEXEC, 0));
    }

    public static int fcntl(int fd, int cmd, long arg) throws ErrnoException {
        return check(C.fcntl(fd, cmd, arg));
    }

    // ---- stat ---------------------------------------------------------------------------

    /** statx(2) into {@code out}; {@code path} may be {@link #EMPTY_PATH} with AT_EMPTY_PATH. */
    public static void statx(int dirfd, long path, int flags, int mask, Statx out) throws ErrnoException {
        check(C.statx(dirfd, path, flags, mask, out.address()));
    }

    public static void statx(int dirfd, String path, int flags, int mask, Statx out) throws ErrnoException {
        check(C.statx(dirfd, path, flags, mask, out.address()));
    }

    /** fstatat(2) into a {@code struct stat} buffer of at least 144 bytes. */
    public static void fstatat(int dirfd, long path, long statBuf, int flags) throws ErrnoException {
        check(C.fstatat(dirfd, path, statBuf, flags));
    }

    // ---- file handles -------------------------------------------------------------------

    /**
     * name_to_handle_at(2). {@code handle} points at a {@code struct file_handle} whose
     * {@code handle_bytes} the caller has set; {@code mountIdOut} receives an int.
     */
    public static void nameToHandleAt(int dirfd, long path, long handle, long mountIdOut, int flags)
            throws ErrnoException {
        check(C.name_to_handle_at(dirfd, path, handle, mountIdOut, flags));
    }

    public static int openByHandleAt(int mountFd, long handle, int flags) throws ErrnoException {
        return check(C.open_by_handle_at(mountFd, handle, flags | O_CLOEXEC));
    }

    // ---- namespace operations ------------------------------------------------------------

    public static void mkdirat(int dirfd, long path, int mode) throws ErrnoException {
        check(C.mkdirat(dirfd, path, mode));
    }

    public static void mknodat(int dirfd, long path, int mode, long dev) throws ErrnoException {
        check(C.mknodat(dirfd, path, mode, dev));
    }

    public static void symlinkat(long target, int dirfd, long path) throws ErrnoException {
        check(C.symlinkat(target, dirfd, path));
    }

    public static void linkat(int olddirfd, long oldpath, int newdirfd, long newpath, int flags) throws ErrnoException {
        check(C.linkat(olddirfd, oldpath, newdirfd, newpath, flags));
    }

    public static void unlinkat(int dirfd, long path, int flags) throws ErrnoException {
        check(C.unlinkat(dirfd, path, flags));
    }

    public static void renameat2(int olddirfd, long oldpath, int newdirfd, long newpath, int flags)
            throws ErrnoException {
        check(C.renameat2(olddirfd, oldpath, newdirfd, newpath, flags));
    }

    public static int readlinkat(int dirfd, long path, long buf, int size) throws ErrnoException {
        return (int) check(C.readlinkat(dirfd, path, buf, size));
    }

    // ---- attributes ---------------------------------------------------------------------

    public static void fchownat(int dirfd, long path, int uid, int gid, int flags) throws ErrnoException {
        check(C.fchownat(dirfd, path, uid, gid, flags));
    }

    public static void fchmod(int fd, int mode) throws ErrnoException {
        check(C.fchmod(fd, mode));
    }

    public static void fchmodat(int dirfd, long path, int mode, int flags) throws ErrnoException {
        check(C.fchmodat(dirfd, path, mode, flags));
    }

    /** {@code times} points at two {@code struct timespec}, or is 0 for "now". */
    public static void utimensat(int dirfd, long path, long times, int flags) throws ErrnoException {
        check(C.utimensat(dirfd, path, times, flags));
    }

    public static void ftruncate(int fd, long length) throws ErrnoException {
        check(C.ftruncate(fd, length));
    }

    public static int fgetxattr(int fd, long name, long value, int size) throws ErrnoException {
        return (int) check(C.fgetxattr(fd, name, value, size));
    }

    public static void fsetxattr(int fd, long name, long value, int size, int flags) throws ErrnoException {
        check(C.fsetxattr(fd, name, value, size, flags));
    }

    public static int flistxattr(int fd, long list, int size) throws ErrnoException {
        return (int) check(C.flistxattr(fd, list, size));
    }

    public static void fremovexattr(int fd, long name) throws ErrnoException {
        check(C.fremovexattr(fd, name));
    }

    /** getxattr(2) (following) on a path such as {@link #procPath(int)}, which reaches the fd's file. */
    public static int pathGetxattr(long path, long name, long value, int size) throws ErrnoException {
        return (int) check(C.getxattr(path, name, value, size));
    }

    public static void pathSetxattr(long path, long name, long value, int size, int flags) throws ErrnoException {
        check(C.setxattr(path, name, value, size, flags));
    }

    public static int pathListxattr(long path, long list, int size) throws ErrnoException {
        return (int) check(C.listxattr(path, list, size));
    }

    public static void pathRemovexattr(long path, long name) throws ErrnoException {
        check(C.removexattr(path, name));
    }

    // ---- data ---------------------------------------------------------------------------

    public static void fallocate(int fd, int mode, long offset, long len) throws ErrnoException {
        check(C.fallocate(fd, mode, offset, len));
    }

    public static long lseek(int fd, long offset, int whence) throws ErrnoException {
        return check(C.lseek(fd, offset, whence));
    }

    /** copy_file_range(2) with explicit offsets (passed by value, updated in scratch space). */
    public static long copyFileRange(int fdIn, long offIn, int fdOut, long offOut, long len, int flags)
            throws ErrnoException {
        long s = SCRATCH.get().base + Scratch.SMALL;
        NativeMemory.putLong(s, offIn);
        NativeMemory.putLong(s + 8, offOut);
        // The raw syscall: glibc's wrapper answered EINVAL here where the kernel call succeeds.
        return check(C.syscall(SYS_COPY_FILE_RANGE, fdIn, s, fdOut, s + 8, len, flags & 0xffffffffL));
    }

    public static int pread(int fd, long buf, int count, long offset) throws ErrnoException {
        return (int) check(C.pread(fd, buf, count, offset));
    }

    public static int pwrite(int fd, long buf, int count, long offset) throws ErrnoException {
        return (int) check(C.pwrite(fd, buf, count, offset));
    }

    public static int read(int fd, long buf, int count) throws ErrnoException {
        return (int) check(C.read(fd, buf, count));
    }

    public static int write(int fd, long buf, int count) throws ErrnoException {
        return (int) check(C.write(fd, buf, count));
    }

    /** preadv(2) of up to {@code size} bytes into the segments of {@code dst}, in order. */
    public static int preadv(int fd, SegmentList dst, int size, long offset) throws ErrnoException {
        long iov = SCRATCH.get().base + Scratch.IOV;
        int n = fillIovecs(iov, dst, size);
        return (int) check(
                n == 1
                        ? C.pread(fd, NativeMemory.getLong(iov), NativeMemory.getLong(iov + 8), offset)
                        : C.preadv(fd, iov, n, offset));
    }

    /** pwritev(2) of every byte of {@code src}. */
    public static int pwritev(int fd, SegmentList src, long offset) throws ErrnoException {
        long iov = SCRATCH.get().base + Scratch.IOV;
        int n = fillIovecs(iov, src, Integer.MAX_VALUE);
        return (int) check(
                n == 1
                        ? C.pwrite(fd, NativeMemory.getLong(iov), NativeMemory.getLong(iov + 8), offset)
                        : C.pwritev(fd, iov, n, offset));
    }

    /** writev(2) of the first {@code size} bytes of {@code src}. */
    public static int writev(int fd, SegmentList src, int size) throws ErrnoException {
        long iov = SCRATCH.get().base + Scratch.IOV;
        int n = fillIovecs(iov, src, size);
        return (int) check(C.writev(fd, iov, n));
    }

    private static int fillIovecs(long iov, SegmentList list, int limit) throws ErrnoException {
        int n = list.count();
        if (n > Scratch.IOV_MAX) {
            throw ErrnoException.of(dev.virtiofsd.api.Errno.EINVAL);
        }
        int used = 0;
        long left = limit;
        for (int i = 0; i < n && left > 0; i++) {
            long len = Math.min(list.length(i), left);
            NativeMemory.putLong(iov + 16L * used, list.address(i));
            NativeMemory.putLong(iov + 16L * used + 8, len);
            used++;
            left -= len;
        }
        if (used == 0) {
            NativeMemory.putLong(iov, EMPTY_PATH);
            NativeMemory.putLong(iov + 8, 0);
            used = 1;
        }
        return used;
    }

    public static void fsync(int fd) throws ErrnoException {
        check(C.fsync(fd));
    }

    public static void fdatasync(int fd) throws ErrnoException {
        check(C.fdatasync(fd));
    }

    public static void syncfs(int fd) throws ErrnoException {
        check(C.syncfs(fd));
    }

    /** fstatvfs(2) into a {@code struct statvfs} buffer of at least 112 bytes. */
    public static void fstatvfs(int fd, long buf) throws ErrnoException {
        check(C.fstatvfs(fd, buf));
    }

    /** getdents64(2): returns bytes of {@code struct linux_dirent64} records written, 0 at the end. */
    public static int getdents64(int fd, long buf, int size) throws ErrnoException {
        return (int) check(C.getdents64(fd, buf, size));
    }

    // ---- locks --------------------------------------------------------------------------

    /**
     * fcntl(2) with an open-file-description lock command; {@code lock} is a {@code struct flock}
     * of 32 bytes: type (short), whence (short), start, len (long), pid (int); see {@link Flock}.
     */
    public static void ofdLock(int fd, int cmd, long lock) throws ErrnoException {
        check(C.fcntl(fd, cmd, lock));
    }

    public static void flock(int fd, int op) throws ErrnoException {
        check(C.flock(fd, op));
    }

    // ---- event fds, memory, mounts -------------------------------------------------------

    public static int eventfd(int initval, int flags) throws ErrnoException {
        return check(C.eventfd(initval, flags | EFD_CLOEXEC));
    }

    public static int memfdCreate(String name, int flags) throws ErrnoException {
        return check(C.memfd_create(name, flags));
    }

    public static long mmap(long addr, long length, int prot, int flags, int fd, long offset) throws ErrnoException {
        jnr.ffi.Pointer hint = addr == 0 ? null : jnr.ffi.Pointer.wrap(RUNTIME, addr);
        long r = C.mmap(hint, length, prot, flags, fd, offset);
        if (r == MAP_FAILED) {
            throw ErrnoException.of(errno(), "mmap");
        }
        return r;
    }

    public static void munmap(long addr, long length) throws ErrnoException {
        check(C.munmap(addr, length));
    }

    public static void mount(String source, String target, String fstype, long flags, String data)
            throws ErrnoException {
        if (C.mount(source, target, fstype, flags, data) < 0) {
            throw ErrnoException.of(errno(), "mount " + target);
        }
    }

    public static void umount2(String target, int flags) throws ErrnoException {
        if (C.umount2(target, flags) < 0) {
            throw ErrnoException.of(errno(), "umount " + target);
        }
    }

    /** pivot_root(2): {@code newRoot} becomes the root of the mount namespace, the old root goes to {@code putOld}. */
    public static void pivotRoot(String newRoot, String putOld) throws ErrnoException {
        long a = NativeMemory.allocate(newRoot.length() * 4L + 1);
        long b = NativeMemory.allocate(putOld.length() * 4L + 1);
        try {
            NativeMemory.putString(a, newRoot);
            NativeMemory.putString(b, putOld);
            if (C.syscall(SYS_PIVOT_ROOT, a, b, 0) < 0) {
                throw ErrnoException.of(errno(), "pivot_root " + newRoot);
            }
        } finally {
            NativeMemory.free(a);
            NativeMemory.free(b);
        }
    }

    /** chroot(2): for the whole process (its threads share one root). */
    public static void chroot(String dir) throws ErrnoException {
        if (C.chroot(dir) < 0) {
            throw ErrnoException.of(errno(), "chroot " + dir);
        }
    }

    /** fchdir(2): the working directory of the whole process. */
    public static void fchdir(int fd) throws ErrnoException {
        check(C.fchdir(fd));
    }

    /** prctl(2) with integer arguments. */
    public static int prctl(int option, long arg2, long arg3, long arg4, long arg5) throws ErrnoException {
        return check(C.prctl(option, arg2, arg3, arg4, arg5));
    }

    /**
     * seccomp(2) with {@code SECCOMP_SET_MODE_FILTER}: {@code program} is a classic BPF program
     * (8 bytes per instruction). With TSYNC in {@code flags} a positive return is the id of a
     * thread that could not be synchronised (nothing was installed).
     */
    public static long seccompFilter(int flags, byte[] program) throws ErrnoException {
        int count = program.length / 8;
        long filter = NativeMemory.allocate(program.length);
        long fprog = NativeMemory.allocate(16);
        try {
            NativeMemory.putBytes(filter, program, 0, program.length);
            NativeMemory.putShort(fprog, (short) count);
            NativeMemory.putLong(fprog + 8, filter);
            return check(C.syscall(SYS_SECCOMP, 1 /* SECCOMP_SET_MODE_FILTER */, flags, fprog));
        } finally {
            NativeMemory.free(fprog);
            NativeMemory.free(filter);
        }
    }

    /** This thread's capability sets from capget(2): {effective, permitted, inheritable}, 64 bits each. */
    public static long[] capget() throws ErrnoException {
        long header = NativeMemory.allocate(8);
        long data = NativeMemory.allocate(24);
        try {
            NativeMemory.putInt(header, 0x20080522); // _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set
            NativeMemory.putInt(header + 4, 0);
            check(C.syscall(SYS_CAPGET, header, data, 0));
            long[] sets = new long[3];
            for (int set = 0; set < 3; set++) {
                long low = NativeMemory.getInt(data + 4L * set) & 0xffffffffL;
                long high = NativeMemory.getInt(data + 12 + 4L * set) & 0xffffffffL;
                sets[set] = low | high << 32;
            }
            return sets;
        } finally {
            NativeMemory.free(header);
            NativeMemory.free(data);
        }
    }

    /** poll(2) over {@code nfds} {@code struct pollfd} (8 bytes each) at {@code fds}. */
    public static int poll(long fds, int nfds, int timeoutMillis) throws ErrnoException {
        return check(C.poll(fds, nfds, timeoutMillis));
    }

    private static final int CLOCK_THREAD_CPUTIME_ID = 3;

    /** CPU time (user + system) this thread has used, in nanoseconds; -1 if the clock failed. */
    public static long threadCpuNanos() {
        long ts = SCRATCH.get().base + Scratch.SMALL;
        if (C.clock_gettime(CLOCK_THREAD_CPUTIME_ID, ts) != 0) {
            return -1;
        }
        return NativeMemory.getLong(ts) * 1_000_000_000L + NativeMemory.getLong(ts + 8);
    }

    // ---- sockets ------------------------------------------------------------------------

    public static long sendmsg(int fd, long msghdr, int flags) throws ErrnoException {
        return check(C.sendmsg(fd, msghdr, flags | MSG_NOSIGNAL));
    }

    public static long recvmsg(int fd, long msghdr, int flags) throws ErrnoException {
        return check(C.recvmsg(fd, msghdr, flags | MSG_CMSG_CLOEXEC));
    }

    /** socketpair(AF_UNIX, SOCK_STREAM): two connected fds. */
    public static int[] socketpair() throws ErrnoException {
        long sv = NativeMemory.allocate(8);
        try {
            check(C.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
            return new int[] {NativeMemory.getInt(sv), NativeMemory.getInt(sv + 4)};
        } finally {
            NativeMemory.free(sv);
        }
    }

    public static void shutdown(int fd, int how) throws ErrnoException {
        check(C.shutdown(fd, how));
    }

    public static void fchown(int fd, int uid, int gid) throws ErrnoException {
        check(C.fchown(fd, uid, gid));
    }

    // ---- credentials --------------------------------------------------------------------

    /**
     * Sets this thread's effective uid with the raw syscall (glibc's wrapper would change every
     * thread of the process). -1 leaves a field unchanged.
     */
    public static void setresuidThread(int ruid, int euid, int suid) throws ErrnoException {
        check(C.syscall(SYS_SETRESUID, ruid, euid, suid));
    }

    /** The gid counterpart of {@link #setresuidThread}. */
    public static void setresgidThread(int rgid, int egid, int sgid) throws ErrnoException {
        check(C.syscall(SYS_SETRESGID, rgid, egid, sgid));
    }

    /**
     * unshare(CLONE_FS) for the calling thread: from now on its umask (and cwd, root) are its own,
     * so a umask set for one request does not leak to other threads.
     */
    public static void unshareFs() throws ErrnoException {
        check(C.syscall(SYS_UNSHARE, CLONE_FS, 0, 0));
    }

    public static int gettid() {
        return (int) C.syscall(SYS_GETTID, 0, 0, 0);
    }

    /** Sends signal {@code sig} to thread {@code tid} of this process (tgkill(2)). */
    public static void signalThread(int tid, int sig) throws ErrnoException {
        check(C.syscall(SYS_TGKILL, getpid(), tid, sig));
    }

    /** The soft RLIMIT_NOFILE of this process: how many fds it may have open. */
    public static long openFileLimit() throws ErrnoException {
        long rlim = NativeMemory.allocate(16);
        try {
            check(C.getrlimit(7 /* RLIMIT_NOFILE */, rlim));
            return NativeMemory.getLong(rlim);
        } finally {
            NativeMemory.free(rlim);
        }
    }

    public static int umask(int mask) {
        return C.umask(mask);
    }

    public static int getpid() {
        return C.getpid();
    }
}
