package dev.virtiofsd.strategy.handle.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.FileHandle;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.linux.Linux;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * An inode known by its file handle only: holds no fd, so it does not pin the inode number (the
 * store must find it by handle, never by ids alone). Every use reopens it with open_by_handle_at.
 */
final class HandleIdentity implements InodeIdentity {
    private static final AtomicIntegerFieldUpdater<HandleIdentity> CLOSED =
            AtomicIntegerFieldUpdater.newUpdater(HandleIdentity.class, "closed");

    @SuppressWarnings("UnusedVariable") // read and written through CLOSED, which Error Prone does not see
    private volatile int closed;

    static final String KIND = "handle";
    private final FileHandle handle;
    private final MountFd mount;
    /** Our own copy of the f_handle bytes, written into per-thread native scratch per call. */
    private final byte[] bytes;

    private final int type;

    HandleIdentity(FileHandle handle, MountFd mount) {
        this.handle = handle;
        this.mount = mount;
        this.bytes = handle.bytes();
        this.type = handle.type();
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public FileHandle handle() {
        return handle;
    }

    @Override
    public boolean pinsInode() {
        return false;
    }

    @Override
    public int heldFds() {
        return 0;
    }

    @Override
    public int acquirePath() throws ErrnoException {
        return openByHandle(Linux.O_PATH);
    }

    @Override
    public void releasePath(int fd) {
        Linux.close(fd);
    }

    @Override
    public int open(int flags) throws ErrnoException {
        return openByHandle(flags & ~Linux.O_CREAT);
    }

    private int openByHandle(int flags) throws ErrnoException {
        long fh = HandleScratch.get().fileHandle(bytes.length);
        HandleScratch.write(fh, type, bytes);
        return Linux.openByHandleAt(mount.fd, fh, flags);
    }

    @Override
    public void close() {
        // Once only: a second release could close the mount fd under the other identities on it.
        if (CLOSED.compareAndSet(this, 0, 1)) {
            mount.release();
        }
    }

    @Override
    public String toString() {
        return "handle[" + handle + "]";
    }
}
