package org.example.hybrid.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.FileHandle;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.linux.Linux;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An inode known by its file handle, with an O_PATH fd while it is hot. The store keys it by the
 * handle (it pins nothing: the cached fd may go at any time), so inode-number reuse on the host
 * cannot fool it. Its fds are counted by the provider ({@link HybridProvider#heldFds()}), since they
 * come and go.
 *
 * <p>Cached fd protocol: a user counts itself in ({@link #users}), then reads {@link #fd}; the
 * evictor takes {@link #fd} away first and closes it only if no user counted itself in meanwhile
 * (else it puts it back). Both fields are volatile/atomic, so one of the two always sees the other.
 */
final class HybridIdentity implements InodeIdentity {
    static final String KIND = "hybrid";

    private final HybridProvider provider;
    private final FileHandle handle;
    private final byte[] bytes;
    private final HybridProvider.MountFd mount;
    private final AtomicInteger users = new AtomicInteger();
    private volatile int fd = -1;
    /** Used since the CLOCK hand last passed (guarded loosely: a lost update costs one eviction). */
    volatile boolean referenced;
    /** Uses while cold: the second makes it hot. */
    private int coldUses;
    /** Index in the provider's ring, -1 when cold; guarded by the provider. */
    int slot = -1;

    volatile boolean closed;

    HybridIdentity(HybridProvider provider, FileHandle handle, HybridProvider.MountFd mount) {
        this.provider = provider;
        this.handle = handle;
        this.bytes = handle.bytes();
        this.mount = mount;
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
        return 0; // see HybridProvider.heldFds()
    }

    @Override
    public int acquirePath() throws ErrnoException {
        users.incrementAndGet();
        int f = fd;
        if (f >= 0) {
            referenced = true;
            return f;
        }
        users.decrementAndGet();
        int opened = Handles.open(mount.fd, handle, bytes, Linux.O_PATH);
        if (++coldUses >= 2 && provider.promote(this, opened)) {
            return opened; // now the cached fd; install() counted this user
        }
        return opened;
    }

    /** Called by the provider (holding its lock) to make {@code f} this identity's cached fd. */
    boolean install(int f) {
        if (fd >= 0 || closed) {
            return false;
        }
        users.incrementAndGet();
        fd = f;
        referenced = true;
        return true;
    }

    /** Called by the provider (holding its lock): drops the cached fd unless it is in use. */
    boolean evict() {
        int f = fd;
        if (f < 0 || users.get() != 0) {
            return false;
        }
        fd = -1;
        if (users.get() != 0) {
            fd = f; // a user came in between: it may be using f
            return false;
        }
        coldUses = 0;
        Linux.close(f);
        return true;
    }

    @Override
    public void releasePath(int pathFd) {
        if (pathFd == fd) {
            users.decrementAndGet();
        } else {
            Linux.close(pathFd);
        }
    }

    @Override
    public int open(int flags) throws ErrnoException {
        return Handles.open(mount.fd, handle, bytes, flags & ~Linux.O_CREAT);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        provider.forget(this);
        int f = fd;
        fd = -1;
        if (f >= 0) {
            Linux.close(f);
        }
        mount.release();
    }

    @Override
    public String toString() {
        return "hybrid[" + handle + (fd >= 0 ? ", hot fd " + fd : "") + "]";
    }
}
