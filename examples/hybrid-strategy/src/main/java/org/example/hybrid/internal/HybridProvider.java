package org.example.hybrid.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.FileHandle;
import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.Statx;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The hybrid strategy on one share: mount fds for open_by_handle_at (one per mount, reference
 * counted, so identities outlive the provider), and the CLOCK ring of hot identities that keep an
 * O_PATH fd. Inodes without a handle (filesystem without export ops, no mount fd) fall back to a
 * plain O_PATH fd that pins them, kind "fd".
 */
final class HybridProvider implements IdentityProvider {
    /** A non-O_PATH fd on one mount; closed when the provider and every identity on it let go. */
    static final class MountFd {
        final int fd;
        private final AtomicInteger refs = new AtomicInteger(1);

        MountFd(int fd) {
            this.fd = fd;
        }

        boolean retain() {
            while (true) {
                int r = refs.get();
                if (r <= 0) {
                    return false;
                }
                if (refs.compareAndSet(r, r + 1)) {
                    return true;
                }
            }
        }

        void release() {
            if (refs.decrementAndGet() == 0) {
                Linux.close(fd);
            }
        }
    }

    private final ConcurrentHashMap<Long, MountFd> mounts = new ConcurrentHashMap<>();
    private final HybridIdentity[] ring;
    private final AtomicInteger hot = new AtomicInteger();
    private int hand;
    private volatile boolean closed;

    private HybridProvider(int hotFds) {
        this.ring = new HybridIdentity[hotFds];
    }

    static HybridProvider open(int rootFd, int hotFds) throws ErrnoException {
        HybridProvider p = new HybridProvider(hotFds);
        // A real round trip on the root: file handles need CAP_DAC_READ_SEARCH and export support.
        long mnt;
        int mode;
        try (Statx st = new Statx()) {
            st.ofFd(rootFd);
            mnt = st.mntId();
            mode = st.mode();
        }
        FileHandle h;
        try {
            h = Handles.of(rootFd, mnt);
        } catch (ErrnoException e) {
            throw new IllegalStateException("hybrid: the shared directory gives no file handles ("
                    + Errno.name(e.errno()) + "); use the fd strategy");
        }
        MountFd m = p.mountFor(rootFd, mnt, mode);
        if (m == null) {
            throw new IllegalStateException("hybrid: cannot open the shared directory for open_by_handle_at");
        }
        try {
            Linux.close(Handles.open(m.fd, h, h.bytes(), Linux.O_PATH));
        } catch (ErrnoException e) {
            p.close();
            throw new IllegalStateException(
                    "hybrid: open_by_handle_at refused (" + Errno.name(e.errno()) + "): needs CAP_DAC_READ_SEARCH");
        }
        return p;
    }

    @Override
    public InodeIdentity identify(int pathFd, long mountId, int mode) throws ErrnoException {
        FileHandle h;
        try {
            h = Handles.of(pathFd, mountId);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EOPNOTSUPP || e.errno() == Errno.EOVERFLOW) {
                return new PinnedFd(pathFd);
            }
            Linux.close(pathFd);
            throw e;
        }
        MountFd m;
        try {
            m = mountFor(pathFd, mountId, mode);
        } catch (ErrnoException e) {
            m = null;
        }
        if (m == null || !m.retain()) {
            return new PinnedFd(pathFd); // e.g. a special file is the first inode seen on its mount
        }
        Linux.close(pathFd);
        return new HybridIdentity(this, h, m);
    }

    private MountFd mountFor(int pathFd, long mountId, int mode) throws ErrnoException {
        MountFd known = mounts.get(mountId);
        if (known != null) {
            return known;
        }
        int type = mode & Linux.S_IFMT;
        if (type != Linux.S_IFREG && type != Linux.S_IFDIR) {
            return null; // never open a device or FIFO
        }
        int fd = Linux.reopen(pathFd, Linux.O_RDONLY | Linux.O_NONBLOCK | (type == Linux.S_IFDIR ? Linux.O_DIRECTORY : 0));
        MountFd mine = new MountFd(fd);
        MountFd raced = mounts.putIfAbsent(mountId, mine);
        if (raced != null) {
            Linux.close(fd);
            return raced;
        }
        if (closed && mounts.remove(mountId, mine)) {
            mine.release();
            return null;
        }
        return mine;
    }

    /**
     * Makes {@code id} hot with {@code fd} if it has earned it; evicts a cold one if the ring is full.
     * Returns true when {@code fd} now belongs to {@code id}'s cache (and counts one user).
     */
    synchronized boolean promote(HybridIdentity id, int fd) {
        if (ring.length == 0 || closed || id.closed) {
            return false;
        }
        int free = -1;
        for (int scanned = 0; scanned < 2 * ring.length && free < 0; scanned++) {
            HybridIdentity h = ring[hand];
            if (h == null) {
                free = hand;
            } else if (h.referenced) {
                h.referenced = false; // a second chance
            } else if (h.evict()) {
                ring[hand] = null;
                hot.decrementAndGet();
                free = hand;
            }
            if (free < 0) {
                hand = (hand + 1) % ring.length;
            }
        }
        if (free < 0) {
            return false; // every hot inode is in use right now
        }
        if (!id.install(fd)) {
            return false;
        }
        ring[free] = id;
        id.slot = free;
        hot.incrementAndGet();
        hand = (free + 1) % ring.length;
        return true;
    }

    /** An identity closes: it leaves the ring. */
    synchronized void forget(HybridIdentity id) {
        if (id.slot >= 0 && ring[id.slot] == id) {
            ring[id.slot] = null;
            hot.decrementAndGet();
        }
        id.slot = -1;
    }

    /** Fds of hot inodes now. */
    int hotFds() {
        return hot.get();
    }

    @Override
    public int heldFds() {
        return mounts.size() + hot.get();
    }

    @Override
    public void close() {
        closed = true;
        synchronized (this) {
            for (int i = 0; i < ring.length; i++) {
                HybridIdentity h = ring[i];
                if (h != null && h.evict()) {
                    ring[i] = null;
                    h.slot = -1;
                    hot.decrementAndGet();
                }
            }
        }
        for (Long id : mounts.keySet()) {
            MountFd m = mounts.remove(id);
            if (m != null) {
                m.release();
            }
        }
    }

    /** The fallback: an O_PATH fd that pins the inode (no handle to find it by). */
    static final class PinnedFd implements InodeIdentity {
        private final int fd;
        private final AtomicInteger closed = new AtomicInteger();

        PinnedFd(int fd) {
            this.fd = fd;
        }

        @Override
        public String kind() {
            return "fd";
        }

        @Override
        public FileHandle handle() {
            return null;
        }

        @Override
        public boolean pinsInode() {
            return true;
        }

        @Override
        public int heldFds() {
            return 1;
        }

        @Override
        public int acquirePath() {
            return fd;
        }

        @Override
        public void releasePath(int pathFd) {}

        @Override
        public int open(int flags) throws ErrnoException {
            return Linux.reopen(fd, flags);
        }

        @Override
        public void close() {
            if (closed.compareAndSet(0, 1)) {
                Linux.close(fd);
            }
        }
    }
}
