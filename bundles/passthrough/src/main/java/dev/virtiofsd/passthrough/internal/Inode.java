package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.linux.Linux;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One host inode the client knows by {@link #nodeId}. Records its own identity (fd, handle, ...),
 * so inodes made under different strategies can live side by side.
 *
 * <p>Ownership: the inode is reference counted. The store holds one reference while the inode is in
 * it (lookup count above zero), every request that uses it holds one (see {@link InodeUse}), and so
 * does every open file on it. FORGET, DESTROY and a new session only drop the store's reference:
 * the identity (and with it the O_PATH fd) and the lock fds are closed by whoever drops the last
 * one, never under a request still using them.
 */
final class Inode extends RefCounted {
    final long nodeId;
    final InodeIdentity identity;
    final IdsKey ids;
    /**
     * st_mode from the statx of the very O_PATH fd the identity was made from. An inode never
     * changes type, so this is the authority on what may be opened.
     */
    final int mode;

    final long mntId;
    final boolean root;
    /** The strategy instance that made {@link #identity}; null for inodes without one (tests, lost). */
    final StrategySlot slot;

    /** Lookup count; guarded by the store's lock. */
    long lookups;
    /** Set (under the store's lock) when the inode has left the store. */
    boolean removed;

    /**
     * POSIX (OFD) lock fds, one per lock owner, like C virtiofsd's lo_inode_plock. Created lazily. A
     * conversion to another identity ({@link #takeOverLocks}) shares the map with the new inode.
     */
    private volatile ConcurrentHashMap<Long, LockFd> plocks;

    /** The lock fds went to the inode that took this one's place: {@link #free()} leaves them. */
    private volatile boolean locksHandedOver;

    Inode(long nodeId, InodeIdentity identity, IdsKey ids, int mode, boolean root) {
        this(nodeId, identity, ids, mode, root, null);
    }

    Inode(long nodeId, InodeIdentity identity, IdsKey ids, int mode, boolean root, StrategySlot slot) {
        this.slot = slot;
        this.nodeId = nodeId;
        this.identity = identity;
        this.ids = ids;
        this.mode = mode;
        this.mntId = ids.mntId;
        this.root = root;
    }

    boolean isDir() {
        return (mode & Linux.S_IFMT) == Linux.S_IFDIR;
    }

    /** A regular file or a directory: the only inodes the daemon ever opens for the guest. */
    boolean isOpenable() {
        int type = mode & Linux.S_IFMT;
        return type == Linux.S_IFREG || type == Linux.S_IFDIR;
    }

    /**
     * Opens the inode for I/O on the guest's behalf. Devices, FIFOs, sockets and symlinks are refused
     * with EBADF, as Rust virtiofsd does, before anything is opened: opening a device as root would
     * hand the guest the host's device, and opening a FIFO blocks.
     */
    int openForIo(int flags) throws ErrnoException {
        if (!isOpenable()) {
            throw ErrnoException.of(Errno.EBADF);
        }
        return identity.open(flags);
    }

    /** The lock fd of {@code owner}, or null. */
    LockFd plock(long owner) {
        ConcurrentHashMap<Long, LockFd> m = plocks;
        return m == null ? null : m.get(owner);
    }

    ConcurrentHashMap<Long, LockFd> plocks() {
        ConcurrentHashMap<Long, LockFd> m = plocks;
        if (m == null) {
            synchronized (this) {
                m = plocks;
                if (m == null) {
                    m = new ConcurrentHashMap<>(4);
                    plocks = m;
                }
            }
        }
        return m;
    }

    /** Drops the lock fd of {@code owner} (which releases its OFD locks). */
    void dropPlock(long owner) {
        ConcurrentHashMap<Long, LockFd> m = plocks;
        if (m != null) {
            LockFd fd = m.remove(owner);
            if (fd != null) {
                fd.close();
            }
        }
    }

    /**
     * Conversion ({@code old} keeps its node id but gets this inode's identity): the lock fds are
     * the node's, not the identity's, so this inode shares {@code old}'s map. Requests and open files
     * still holding {@code old} reach the same lock fds; the locks survive {@code old}'s end. Call
     * before this inode is visible, with a reference on {@code old}; {@link #locksHandedOver()} once
     * this inode has taken {@code old}'s place.
     */
    void takeOverLocks(Inode old) {
        plocks = old.plocks();
    }

    /** {@link #takeOverLocks} took effect: this inode's lock fds now belong to its successor. */
    void locksHandedOver() {
        locksHandedOver = true;
    }

    /** Frees everything the inode holds; runs once, when the last reference goes. */
    @Override
    void free() {
        ConcurrentHashMap<Long, LockFd> m = locksHandedOver ? null : plocks;
        if (m != null) {
            for (Long owner : m.keySet()) {
                dropPlock(owner);
            }
        }
        identity.close();
    }

    @Override
    public String toString() {
        return "Inode[" + nodeId + " " + ids + " " + identity.kind() + (slot == null ? "" : " " + slot.name) + "]";
    }
}
