package dev.virtiofsd.passthrough.internal;

import static dev.virtiofsd.api.Errno.EACCES;
import static dev.virtiofsd.api.Errno.EAGAIN;
import static dev.virtiofsd.api.Errno.EBADF;
import static dev.virtiofsd.api.Errno.EINVAL;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.FileLock;
import dev.virtiofsd.linux.Flock;
import dev.virtiofsd.linux.Linux;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * GETLK/SETLK/SETLKW: POSIX locks as open-file-description locks, one lock fd per (inode, lock
 * owner), so that the host sees the guest's owners apart; and BSD flock on the open file itself.
 * A sleeping lock polls (see {@link #waitForLock}) so that FUSE INTERRUPT can end it.
 */
final class PosixLocks {
    static final int DEFAULT_MAX_LOCK_FDS = 4096;

    private final InodeStore store;
    private final OpenFiles files;
    /** Lock fds open now, and the most that may be (beyond: ENOLCK); they count against the fd budget too. */
    private final AtomicInteger lockFds = new AtomicInteger();

    private volatile int maxLockFds = Integer.getInteger("virtiofsd.passthrough.max-lock-fds", DEFAULT_MAX_LOCK_FDS);

    PosixLocks(InodeStore store, OpenFiles files) {
        this.store = store;
        this.files = files;
    }

    /** EINVAL unless {@code lock} is a lock to test for (checked before the inode is looked up). */
    static void checkGetlk(FileLock lock) throws ErrnoException {
        checkRange(lock);
        if (lock.type != FileLock.F_RDLCK && lock.type != FileLock.F_WRLCK) {
            throw ErrnoException.of(EINVAL);
        }
    }

    /** GETLK (checked by {@link #checkGetlk}) on {@code i}: the first lock that conflicts with {@code lock}, else F_UNLCK. */
    void getlk(Inode i, long owner, FileLock lock) throws ErrnoException {
        Flock p = describe(lock);
        LockFd mine = i.plock(owner);
        if (mine != null) {
            mine.fcntl(Linux.F_OFD_GETLK, p);
        } else {
            // The owner holds no lock here, so every lock is someone else's: ask on a fresh fd that
            // is closed at once (no fd per guest-chosen owner).
            int fd = i.openForIo(Linux.O_RDONLY | Linux.O_NONBLOCK);
            try {
                p.ofdLock(fd, Linux.F_OFD_GETLK);
            } finally {
                Linux.close(fd);
            }
        }
        int type = p.type();
        lock.type = type;
        if (type != FileLock.F_UNLCK) {
            lock.start = p.start();
            long len = p.len();
            lock.end = len == 0 ? Long.MAX_VALUE : lock.start + len - 1;
            // OFD locks have no owning process (pid -1); the client maps 0 to "none".
            lock.pid = 0;
        }
    }

    /** EINVAL unless {@code lock} is a POSIX lock type (checked before the inode is looked up). */
    static void checkSetlk(FileLock lock) throws ErrnoException {
        if (lock.type != FileLock.F_RDLCK && lock.type != FileLock.F_WRLCK && lock.type != FileLock.F_UNLCK) {
            throw ErrnoException.of(EINVAL);
        }
        checkRange(lock);
    }

    /** SETLK/SETLKW of a POSIX lock (checked by {@link #checkSetlk}) for {@code owner}, through open file {@code fh}. */
    void setlk(Inode i, long fh, long owner, FileLock lock, boolean sleep) throws ErrnoException {
        Flock p = describe(lock);
        if (lock.type == FileLock.F_UNLCK) {
            LockFd fd = i.plock(owner);
            if (fd != null) {
                fd.fcntl(Linux.F_OFD_SETLK, p);
            }
            return; // an owner without a lock fd holds no lock to undo
        }
        LockFd fd = plockFd(i, fh, owner);
        if (!sleep) {
            fd.fcntl(Linux.F_OFD_SETLK, p);
            return;
        }
        long backoff = 1_000_000L;
        while (true) {
            try {
                fd.fcntl(Linux.F_OFD_SETLK, p);
                return;
            } catch (ErrnoException e) {
                if (e.errno() != EAGAIN && e.errno() != EACCES) {
                    throw e;
                }
            }
            backoff = waitForLock(backoff);
        }
    }

    /** The flock(2) operation for a BSD lock of {@code lock}'s type; EINVAL for another type. */
    static int flockOperation(FileLock lock) throws ErrnoException {
        switch (lock.type) {
            case FileLock.F_RDLCK:
                return Linux.LOCK_SH;
            case FileLock.F_WRLCK:
                return Linux.LOCK_EX;
            case FileLock.F_UNLCK:
                return Linux.LOCK_UN;
            default:
                throw ErrnoException.of(EINVAL);
        }
    }

    /** A BSD lock ({@link #flockOperation}) on the open file {@code f}. */
    static void flock(OpenFile f, int op, boolean sleep) throws ErrnoException {
        if (!sleep || op == Linux.LOCK_UN) {
            Linux.flock(f.fd, op | Linux.LOCK_NB);
            return;
        }
        long backoff = 1_000_000L;
        while (true) {
            try {
                Linux.flock(f.fd, op | Linux.LOCK_NB);
                return;
            } catch (ErrnoException e) {
                if (e.errno() != EAGAIN) {
                    throw e;
                }
            }
            backoff = waitForLock(backoff);
        }
    }

    /**
     * The fd that carries {@code owner}'s OFD locks on this inode, opened on first use. Lock fds are
     * counted against the fd budget and capped (every guest-chosen owner would otherwise cost the
     * host an fd): beyond either, ENOLCK, as fcntl answers when the lock table is full.
     */
    private LockFd plockFd(Inode inode, long fh, long owner) throws ErrnoException {
        LockFd fd = inode.plock(owner);
        if (fd == null) {
            fd = newPlockFd(inode, owner);
        }
        OpenFile f = files.peek(fh);
        // by node id: an open file made before a conversion holds the inode that had it then
        if (f != null && f.inode.nodeId == inode.nodeId && f.tryRetain()) {
            try {
                f.addLockOwner(owner);
            } finally {
                f.close();
            }
        }
        return fd;
    }

    private LockFd newPlockFd(Inode inode, long owner) throws ErrnoException {
        if (lockFds.incrementAndGet() > maxLockFds) {
            lockFds.decrementAndGet();
            throw ErrnoException.of(Errno.ENOLCK);
        }
        if (!store.reserveFds(1)) {
            lockFds.decrementAndGet();
            throw ErrnoException.of(Errno.ENOLCK);
        }
        int nfd;
        try {
            try {
                nfd = inode.openForIo(Linux.O_RDWR | Linux.O_NONBLOCK);
            } catch (ErrnoException e) {
                if (e.errno() == EBADF) {
                    throw e;
                }
                nfd = inode.openForIo(Linux.O_RDONLY | Linux.O_NONBLOCK);
            }
        } catch (ErrnoException | RuntimeException e) {
            lockFdClosed();
            throw e;
        }
        LockFd mine = new LockFd(nfd, this::lockFdClosed);
        LockFd prev = inode.plocks().putIfAbsent(owner, mine);
        if (prev != null) {
            mine.close();
            return prev;
        }
        return mine;
    }

    private void lockFdClosed() {
        lockFds.decrementAndGet();
        store.returnFds(1);
    }

    /** {@code lock} as this thread's {@code struct flock}: from the start of the file, to the end when the guest says so. */
    private static Flock describe(FileLock lock) {
        long len = lock.end == Long.MAX_VALUE || lock.end == -1 ? 0 : lock.end - lock.start + 1;
        return Flock.perThread().set((short) lock.type, lock.start, len);
    }

    private static void checkRange(FileLock lock) throws ErrnoException {
        if (lock.end != Long.MAX_VALUE && lock.end != -1 && (lock.end < lock.start || lock.start < 0)) {
            throw ErrnoException.of(EINVAL);
        }
    }

    /** Lock fds open now. */
    int lockFds() {
        return lockFds.get();
    }

    /** Caps lock fds. */
    void maxLockFds(int max) {
        maxLockFds = max;
    }

    /**
     * A sleeping lock polls instead of blocking in the kernel, so that the worker can give it up:
     * the dispatcher answers FUSE INTERRUPT by interrupting the thread serving that request, and
     * the request ends with EINTR (a thread blocked in flock/F_OFD_SETLKW could not be woken).
     */
    private static long waitForLock(long backoffNanos) throws ErrnoException {
        if (Thread.interrupted()) {
            throw ErrnoException.of(Errno.EINTR);
        }
        LockSupport.parkNanos(backoffNanos);
        if (Thread.interrupted()) {
            throw ErrnoException.of(Errno.EINTR);
        }
        return Math.min(backoffNanos * 2, 50_000_000L);
    }
}
