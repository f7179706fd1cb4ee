package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.linux.Linux;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One host inode the client knows by {@link #nodeId}. Records its own identity (fd, handle, ...),
 * so inodes made under different strategies can live side by side.
 */
final class Inode {
    final long nodeId;
    final InodeIdentity identity;
    final IdsKey ids;
    /** st_mode at lookup; only the file type bits are relied upon. */
    final int mode;

    final long mntId;
    final boolean root;

    /** Lookup count; guarded by the store's lock. */
    long lookups;
    /** Set (under the store's lock) when the inode has left the store. */
    boolean removed;

    /** POSIX (OFD) lock fds, one per lock owner, like C virtiofsd's lo_inode_plock. Created lazily. */
    private volatile ConcurrentHashMap<Long, Integer> plocks;

    Inode(long nodeId, InodeIdentity identity, IdsKey ids, int mode, boolean root) {
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

    ConcurrentHashMap<Long, Integer> plocks() {
        ConcurrentHashMap<Long, Integer> m = plocks;
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
        ConcurrentHashMap<Long, Integer> m = plocks;
        if (m != null) {
            Integer fd = m.remove(owner);
            if (fd != null) {
                Linux.close(fd);
            }
        }
    }

    /** Frees everything the inode holds; called once, after it left the store, outside its lock. */
    void release() {
        ConcurrentHashMap<Long, Integer> m = plocks;
        if (m != null) {
            for (Long owner : m.keySet()) {
                dropPlock(owner);
            }
        }
        identity.close();
    }

    @Override
    public String toString() {
        return "Inode[" + nodeId + " " + ids + " " + identity.kind() + "]";
    }
}
