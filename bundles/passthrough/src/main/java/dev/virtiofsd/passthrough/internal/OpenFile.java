package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.DirectoryReader;
import dev.virtiofsd.linux.Linux;

/**
 * An open file or directory of the client, named by an fh that is never the raw fd.
 *
 * <p>Ownership: reference counted ({@link RefCounted}) like {@link Inode}. The fh map holds one reference until RELEASE
 * (or DESTROY) removes it, every request holds one while it uses the fd (try-with-resources:
 * {@link #close()} drops the request's reference), and the last one closes the fd. The open file
 * holds a reference on its inode for as long as it lives.
 */
class OpenFile extends RefCounted implements AutoCloseable {
    final Inode inode;
    final int fd;

    /** Takes over {@code fd} and one reference on {@code inode} that the caller already took. */
    OpenFile(Inode inode, int fd) {
        this.inode = inode;
        this.fd = fd;
    }

    /**
     * POSIX lock owners that used this open file. An OFD lock's owner is the client's open file, and
     * the client sends no unlock when that file is closed (its local lock list is empty under
     * FUSE_POSIX_LOCKS): RELEASE must drop them. Guarded by this object.
     */
    private long[] lockOwners;

    private int lockOwnerCount;

    synchronized void addLockOwner(long owner) {
        for (int i = 0; i < lockOwnerCount; i++) {
            if (lockOwners[i] == owner) {
                return;
            }
        }
        if (lockOwners == null) {
            lockOwners = new long[2];
        } else if (lockOwnerCount == lockOwners.length) {
            lockOwners = java.util.Arrays.copyOf(lockOwners, lockOwnerCount * 2);
        }
        lockOwners[lockOwnerCount++] = owner;
    }

    /** Drops the lock fds (and so the locks) of every owner that used this open file. */
    void dropLocks() {
        long[] owners;
        int n;
        synchronized (this) {
            owners = lockOwners;
            n = lockOwnerCount;
            lockOwners = null;
            lockOwnerCount = 0;
        }
        for (int i = 0; i < n; i++) {
            inode.dropPlock(owners[i]);
        }
    }

    /** FSYNC/FSYNCDIR: fdatasync(2) when {@code datasync}, else fsync(2). */
    void sync(boolean datasync) throws ErrnoException {
        if (datasync) {
            Linux.fdatasync(fd);
        } else {
            Linux.fsync(fd);
        }
    }

    /** Drops one reference (a request's, or the fh map's); the last one closes the fd. */
    @Override
    public final void close() {
        release();
    }

    @Override
    void free() {
        Linux.close(fd);
        inode.release();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[fd " + fd + " of " + inode + "]";
    }

    /** An open directory: its own fd plus its getdents64 reader, used under the handle's monitor. */
    static final class Dir extends OpenFile {
        final DirectoryReader reader = new DirectoryReader(DirectoryReader.DEFAULT_BUFFER);
        /** The offset of the next unconsumed entry, as the client names it (a d_off, 0 at the start). */
        long nextOffset;
        /** The last reference went: the reader's buffer and the fd are closed. */
        boolean freed;

        Dir(Inode inode, int fd) {
            super(inode, fd);
        }

        /** OPENDIR: opens directory {@code i} for reading, with a reference of its own on {@code i}. */
        static Dir open(Inode i) throws ErrnoException {
            int fd = i.openForIo(Linux.O_RDONLY | Linux.O_DIRECTORY);
            try {
                i.retain(); // the open directory's
                return new Dir(i, fd);
            } catch (RuntimeException | Error e) {
                Linux.close(fd);
                i.release();
                throw e;
            }
        }

        @Override
        void free() {
            synchronized (this) {
                reader.close();
                freed = true;
            }
            super.free();
        }
    }
}
