package dev.virtiofsd.linux.internal;

/**
 * jnr-ffi binding of the glibc functions the daemon uses. Pointer arguments are plain native
 * addresses ({@code long}) so callers can pass guest memory or reused buffers without copies;
 * a few {@code String} overloads exist for set-up paths.
 */
public interface LibC {
    int open(String path, int flags, int mode);

    int openat(int dirfd, long path, int flags, int mode);

    int openat(int dirfd, String path, int flags, int mode);

    int close(int fd);

    int dup(int fd);

    int statx(int dirfd, long path, int flags, int mask, long buf);

    int statx(int dirfd, String path, int flags, int mask, long buf);

    int fstatat(int dirfd, long path, long buf, int flags);

    int name_to_handle_at(int dirfd, long path, long handle, long mountId, int flags);

    int open_by_handle_at(int mountFd, long handle, int flags);

    int mkdirat(int dirfd, long path, int mode);

    int mknodat(int dirfd, long path, int mode, long dev);

    int symlinkat(long target, int dirfd, long path);

    int linkat(int olddirfd, long oldpath, int newdirfd, long newpath, int flags);

    int unlinkat(int dirfd, long path, int flags);

    int renameat2(int olddirfd, long oldpath, int newdirfd, long newpath, int flags);

    long readlinkat(int dirfd, long path, long buf, long size);

    int fchownat(int dirfd, long path, int uid, int gid, int flags);

    int fchmod(int fd, int mode);

    int fchmodat(int dirfd, long path, int mode, int flags);

    int utimensat(int dirfd, long path, long times, int flags);

    int ftruncate(int fd, long length);

    long fgetxattr(int fd, long name, long value, long size);

    int fsetxattr(int fd, long name, long value, long size, int flags);

    long flistxattr(int fd, long list, long size);

    int fremovexattr(int fd, long name);

    long getxattr(long path, long name, long value, long size);

    int setxattr(long path, long name, long value, long size, int flags);

    long listxattr(long path, long list, long size);

    int removexattr(long path, long name);

    int fallocate(int fd, int mode, long offset, long len);

    long lseek(int fd, long offset, int whence);

    long pread(int fd, long buf, long count, long offset);

    long pwrite(int fd, long buf, long count, long offset);

    long preadv(int fd, long iov, int iovcnt, long offset);

    long pwritev(int fd, long iov, int iovcnt, long offset);

    long read(int fd, long buf, long count);

    long write(int fd, long buf, long count);

    long writev(int fd, long iov, int iovcnt);

    int fsync(int fd);

    int fdatasync(int fd);

    int syncfs(int fd);

    int fstatvfs(int fd, long buf);

    long getdents64(int fd, long dirp, long count);

    int eventfd(int initval, int flags);

    int memfd_create(String name, int flags);

    /**
     * mmap takes a Pointer, not a {@code long}: with a {@code long} first argument jnr-ffi's fast
     * invoker passes the six arguments wrongly (mmap fails with EINVAL). For the same reason
     * copy_file_range goes through {@code syscall}.
     */
    long mmap(jnr.ffi.Pointer addr, long length, int prot, int flags, int fd, long offset);

    int munmap(long addr, long length);

    int mount(String source, String target, String fstype, long flags, String data);

    int umount2(String target, int flags);

    int chroot(String path);

    int fchdir(int fd);

    int prctl(int option, long arg2, long arg3, long arg4, long arg5);

    int poll(long fds, long nfds, int timeout);

    int clock_gettime(int clockId, long timespec);

    int fcntl(int fd, int cmd, long arg);

    int flock(int fd, int operation);

    long sendmsg(int sockfd, long msg, int flags);

    long recvmsg(int sockfd, long msg, int flags);

    int socketpair(int domain, int type, int protocol, long sv);

    int shutdown(int sockfd, int how);

    int socket(int domain, int type, int protocol);

    int bind(int sockfd, long addr, int addrlen);

    int listen(int sockfd, int backlog);

    int accept4(int sockfd, long addr, long addrlen, int flags);

    int getsockopt(int sockfd, int level, int optname, long optval, long optlen);

    int connect(int sockfd, long addr, int addrlen);

    int chown(String path, int uid, int gid);

    int chmod(String path, int mode);

    int fchown(int fd, int uid, int gid);

    long syscall(long number, long a1, long a2, long a3);

    /** The six-argument form of the variadic syscall(2). */
    long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);

    int getrlimit(int resource, long rlim);

    int umask(int mask);

    int getpid();
}
