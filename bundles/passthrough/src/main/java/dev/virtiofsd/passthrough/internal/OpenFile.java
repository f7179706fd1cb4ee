package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;

/** An open file or directory of the client, named by an fh that is never the raw fd. */
class OpenFile {
    final Inode inode;
    final int fd;

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

    void close() {
        Linux.close(fd);
    }

    /** An open directory: its own fd plus a getdents64 buffer, read under the handle's monitor. */
    static final class Dir extends OpenFile {
        static final int BUFFER = 32 * 1024;
        /** Native getdents64 buffer; 0 once closed. */
        long buffer = NativeMemory.allocate(BUFFER);
        /** Unconsumed records are [pos, len) of the buffer. */
        int pos;

        int len;
        /** The offset of the next unconsumed entry, as the client names it (a d_off, 0 at the start). */
        long nextOffset;

        Dir(Inode inode, int fd) {
            super(inode, fd);
        }

        @Override
        synchronized void close() {
            super.close();
            NativeMemory.free(buffer);
            buffer = 0;
        }
    }
}
