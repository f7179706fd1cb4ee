package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.FileSystem;
import dev.virtiofsd.api.identity.FileHandle;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.linux.Linux;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inodes the client holds lookups on. Node id -> inode is a lock-free map for the request path;
 * the two identity maps, by ids {@code (ino, dev, mnt_id)} and by file handle, plus lookup counts
 * are guarded by one short lock that is never held across a system call (identities are closed after
 * it is released).
 *
 * <p>Find rule (as corrected in the review of the first file-handle patch for C virtiofsd, whose
 * version accepted any ids hit): try the handle map first; an ids hit is
 * accepted only when that entry has <em>no</em> handle <em>and</em> its identity pins the inode
 * ({@link InodeIdentity#pinsInode()}), because an inode that is not pinned may have given its
 * inode number to a new file on the host.
 *
 * <p>The store holds one reference on each inode it contains (see {@link Inode}); leaving the store
 * drops it, and the inode is freed by whoever drops the last reference.
 */
final class InodeStore {
    private static final Logger LOG = LoggerFactory.getLogger(InodeStore.class);

    private final Object lock = new Object();
    private final ConcurrentHashMap<Long, Inode> byNode = new ConcurrentHashMap<>(1024);
    private final HashMap<IdsKey, Inode> byIds = new HashMap<>(1024);
    private final HashMap<FileHandle, Inode> byHandle = new HashMap<>(1024);
    private final HashMap<String, long[]> byKind = new HashMap<>();
    private final HashMap<String, long[]> byStrategy = new HashMap<>();
    private final AtomicLong nextNodeId = new AtomicLong(2);
    private volatile long inodeCount;
    private volatile long fdCount;
    private volatile Inode root;
    /** Most fds inodes may hold together; the rest of the process's fds stay free for open files. */
    private final long fdBudget;

    InodeStore() {
        this(Long.MAX_VALUE);
    }

    InodeStore(long fdBudget) {
        this.fdBudget = fdBudget;
    }

    /** Installs the root inode (node id 1); it never leaves the store until {@link #closeAll()}. */
    Inode setRoot(IdsKey ids, InodeIdentity identity, int mode) {
        return setRoot(ids, identity, mode, null);
    }

    /** As {@link #setRoot(IdsKey, InodeIdentity, int)}, for an identity made by {@code slot}. */
    Inode setRoot(IdsKey ids, InodeIdentity identity, int mode, StrategySlot slot) {
        Inode r = new Inode(dev.virtiofsd.api.fs.FileSystem.ROOT_ID, identity, ids, mode, true, slot);
        synchronized (lock) {
            r.lookups = 2;
            insertLocked(r);
            root = r;
        }
        return r;
    }

    Inode root() {
        return root;
    }

    /** The live inode with this node id, or null. Takes no reference: for tests and introspection. */
    Inode get(long nodeId) {
        return byNode.get(nodeId);
    }

    /** The live inode with this node id with a reference taken for the caller, or null. */
    Inode acquire(long nodeId) {
        Inode i = byNode.get(nodeId);
        return i != null && i.tryRetain() ? i : null;
    }

    /**
     * Finds the inode {@code identity} names, or inserts a new one; either way counts one lookup and
     * takes a reference for the caller, who must {@link Inode#release()} it. When
     * an existing inode matches, the store closes {@code identity} (the caller must not use it).
     * {@code ids} may be a reused probe key: the store keeps a copy. Returns null, and inserts nothing,
     * when a new inode's fds would exceed the fd budget (the caller still owns {@code identity}).
     */
    Inode findOrInsert(IdsKey ids, InodeIdentity identity, int mode) {
        return findOrInsert(ids, identity, mode, null);
    }

    /** As {@link #findOrInsert(IdsKey, InodeIdentity, int)}; a new inode records {@code slot} made it. */
    Inode findOrInsert(IdsKey ids, InodeIdentity identity, int mode, StrategySlot slot) {
        FileHandle handle = identity.handle();
        Inode found;
        Inode displaced = null;
        synchronized (lock) {
            found = handle != null ? byHandle.get(handle) : null;
            if (found == null) {
                Inode byId = byIds.get(ids);
                if (byId != null && byId.identity.handle() == null && byId.identity.pinsInode()) {
                    found = byId;
                } else {
                    displaced = byId;
                }
            }
            if (found != null) {
                found.lookups++;
                found.retain(); // in the store, so alive: the store's reference is dropped after removal
            } else if (identity.heldFds() > 0 && fdCount + identity.heldFds() > fdBudget) {
                return null;
            } else {
                found = new Inode(nextNodeId.getAndIncrement(), identity, ids.copy(), mode, false, slot);
                found.lookups = 1;
                found.retain();
                insertLocked(found);
            }
        }
        if (found.identity != identity) {
            identity.close();
        } else if (displaced != null && LOG.isDebugEnabled()) {
            // Same ids, different (or no) handle: the host reused the inode number, or the old entry's
            // handle names another generation. The old inode stays reachable by node id and handle.
            LOG.debug("inode {} takes the ids of {}", found, displaced);
        }
        return found;
    }

    /** Counts one more lookup on a live inode ("." and ".." replies); false if it is gone. */
    boolean ref(Inode inode) {
        synchronized (lock) {
            if (inode.removed) {
                return false;
            }
            inode.lookups++;
            return true;
        }
    }

    /**
     * Counts {@code n} fds held for inodes outside their identities (lock fds) against the same
     * budget; false, and nothing counted, when they would exceed it.
     */
    boolean reserveFds(int n) {
        synchronized (lock) {
            if (fdCount + n > fdBudget) {
                return false;
            }
            fdCount = fdCount + n;
            return true;
        }
    }

    /** Gives back fds counted by {@link #reserveFds}. */
    void returnFds(int n) {
        synchronized (lock) {
            fdCount = fdCount - n;
        }
    }

    /** FORGET: drops {@code n} lookups; at zero the inode leaves every map and the store's reference. */
    void forget(long nodeId, long n) {
        Inode inode;
        synchronized (lock) {
            // read under the lock: a conversion may have put another inode under this node id
            inode = byNode.get(nodeId);
            if (inode == null || inode.root || inode.removed) {
                return;
            }
            inode.lookups = n >= inode.lookups || n < 0 ? 0 : inode.lookups - n;
            if (inode.lookups > 0) {
                return;
            }
            removeLocked(inode);
        }
        inode.release();
        closeIfRetired(inode);
    }

    /** A retired strategy closes with the last inode it made (see {@link StrategySlot}). */
    private void closeIfRetired(Inode gone) {
        if (gone.slot != null && gone.slot.retired()) {
            gone.slot.closeIfUnused(lock);
        }
    }

    /** DESTROY: every inode but the root leaves the store. */
    void clearAllButRoot() {
        List<Inode> gone = new ArrayList<>();
        synchronized (lock) {
            for (Inode i : byNode.values()) {
                if (!i.root) {
                    removeLocked(i);
                    gone.add(i);
                }
            }
        }
        for (Inode i : gone) {
            i.release();
        }
        for (Inode i : gone) {
            closeIfRetired(i);
        }
    }

    /** Releases every inode, the root too. */
    void closeAll() {
        clearAllButRoot();
        Inode r;
        synchronized (lock) {
            r = root;
            if (r == null || r.removed) {
                return;
            }
            removeLocked(r);
        }
        r.release();
        closeIfRetired(r);
    }

    @SuppressWarnings("NonAtomicVolatileUpdate") // counters change under lock only; volatile is for lock-free readers
    private void insertLocked(Inode inode) {
        byNode.put(inode.nodeId, inode);
        // A newer inode takes over the ids slot: the old entry had a handle (so its inode number may
        // have been reused) and stays reachable through its handle and node id.
        byIds.put(inode.ids, inode);
        FileHandle h = inode.identity.handle();
        if (h != null) {
            Inode prev = byHandle.putIfAbsent(h, inode);
            if (prev != null && prev != inode) {
                LOG.debug("handle {} already belongs to {}; {} is reachable by node id only", h, prev, inode);
            }
        }
        inodeCount = inodeCount + 1;
        fdCount = fdCount + inode.identity.heldFds();
        byKind.computeIfAbsent(inode.identity.kind(), k -> new long[1])[0]++;
        if (inode.slot != null) {
            inode.slot.inodes++;
            byStrategy.computeIfAbsent(inode.slot.name, k -> new long[1])[0]++;
        }
    }

    @SuppressWarnings("NonAtomicVolatileUpdate") // counters change under lock only; volatile is for lock-free readers
    private void removeLocked(Inode inode) {
        inode.removed = true;
        inode.lookups = 0;
        byNode.remove(inode.nodeId, inode);
        byIds.remove(inode.ids, inode);
        FileHandle h = inode.identity.handle();
        if (h != null) {
            byHandle.remove(h, inode);
        }
        inodeCount = inodeCount - 1;
        fdCount = fdCount - inode.identity.heldFds();
        long[] k = byKind.get(inode.identity.kind());
        if (k != null) {
            k[0]--;
        }
        if (inode.slot != null) {
            inode.slot.inodeLeftLocked();
            long[] st = byStrategy.get(inode.slot.name);
            if (st != null) {
                st[0]--;
            }
        }
    }

    // ---- live strategy changes (PassthroughFileSystem.convert) -------------------------------

    /**
     * Inodes now in the store for which {@code which} holds, the root included, each with a
     * reference taken for the caller, who releases every one.
     */
    List<Inode> select(java.util.function.Predicate<Inode> which) {
        List<Inode> out = new ArrayList<>();
        synchronized (lock) {
            for (Inode i : byNode.values()) {
                if (which.test(i) && i.tryRetain()) {
                    out.add(i);
                }
            }
        }
        return out;
    }

    /**
     * Puts {@code fresh} (same node id and ids, another identity; its one reference becomes the
     * store's) in the place of {@code old}, with its lookup count: the client's node id now reaches
     * the new identity. False, and nothing changed, when {@code old} has left the store, when another
     * inode already has {@code fresh}'s handle, or when the new identity's fds would exceed the budget.
     * On success the store no longer holds {@code old}: the caller drops the store's reference on it
     * ({@link Inode#release()}, outside the lock), and requests still using {@code old} keep it (and
     * its fd) until they are done.
     */
    @SuppressWarnings("NonAtomicVolatileUpdate") // counters change under lock only; volatile is for lock-free readers
    boolean replace(Inode old, Inode fresh) {
        FileHandle h = fresh.identity.handle();
        synchronized (lock) {
            if (old.removed || byNode.get(old.nodeId) != old) {
                return false;
            }
            if (h != null && byHandle.containsKey(h) && byHandle.get(h) != old) {
                return false;
            }
            long delta = (long) fresh.identity.heldFds() - old.identity.heldFds();
            if (delta > 0 && fdCount + delta > fdBudget) {
                return false;
            }
            long lookups = old.lookups;
            removeLocked(old);
            insertLocked(fresh);
            fresh.lookups = lookups;
            if (old.root) {
                root = fresh;
            }
        }
        closeIfRetired(old);
        return true;
    }

    /**
     * The inode the ids slot names if that inode is known by a file handle, with a reference taken
     * for the caller, else null.
     */
    Inode handleHolderOf(IdsKey ids) {
        synchronized (lock) {
            Inode i = byIds.get(ids);
            return i != null && i.identity.handle() != null && i.tryRetain() ? i : null;
        }
    }

    /**
     * Counts one more lookup on the inode now in the store under {@code inode}'s node id (itself, or
     * the inode a conversion put in its place) and takes a reference for the caller; null if the node
     * id is gone.
     */
    Inode refCurrent(Inode inode) {
        synchronized (lock) {
            Inode cur = inode.removed ? byNode.get(inode.nodeId) : inode;
            if (cur == null || cur.removed || !cur.tryRetain()) {
                return null;
            }
            cur.lookups++;
            return cur;
        }
    }

    /** The store's lock, which {@link StrategySlot} uses to count its inodes. */
    Object lock() {
        return lock;
    }

    /** Inodes by the name of the strategy that made their identity. */
    Map<String, Long> byStrategy() {
        Map<String, Long> m = new TreeMap<>();
        synchronized (lock) {
            for (Map.Entry<String, long[]> e : byStrategy.entrySet()) {
                if (e.getValue()[0] != 0) {
                    m.put(e.getKey(), e.getValue()[0]);
                }
            }
        }
        return m;
    }

    // ---- live migration hooks (PassthroughMigration) ----------------------------------------

    /**
     * The node ids of every inode but the root, in order; call with no request running. Ids, not
     * inodes: the migration takes each one as a request does ({@link InodeUse#of(InodeStore, long)}),
     * with a reference, so nothing it describes can be closed under it.
     */
    long[] migrationNodeIds() {
        List<Long> ids = new ArrayList<>();
        synchronized (lock) {
            for (Inode i : byNode.values()) {
                if (!i.root) {
                    ids.add(i.nodeId);
                }
            }
        }
        return ids.stream().mapToLong(Long::longValue).sorted().toArray();
    }

    /** Whether {@code inode} is still in the store (its lookup count above zero). */
    boolean holds(Inode inode) {
        synchronized (lock) {
            return !inode.removed;
        }
    }

    /** The node id the next new inode gets. */
    long nextNodeId() {
        return nextNodeId.get();
    }

    /**
     * Installs an inode that arrived with a migration, under the node id and lookup count the
     * guest knows; false if that node id is taken (a malformed state).
     */
    boolean insertMigrated(Inode inode, long lookups, long nextNodeIdAtLeast) {
        synchronized (lock) {
            if (inode.root || inode.nodeId <= FileSystem.ROOT_ID || byNode.containsKey(inode.nodeId)) {
                return false;
            }
            inode.lookups = lookups;
            insertLocked(inode);
            nextNodeId.accumulateAndGet(Math.max(inode.nodeId + 1, nextNodeIdAtLeast), Math::max);
        }
        return true;
    }

    long inodes() {
        return inodeCount;
    }

    long fds() {
        return fdCount;
    }

    Map<String, Long> byKind() {
        Map<String, Long> m = new TreeMap<>();
        synchronized (lock) {
            for (Map.Entry<String, long[]> e : byKind.entrySet()) {
                if (e.getValue()[0] != 0) {
                    m.put(e.getKey(), e.getValue()[0]);
                }
            }
        }
        return m;
    }

    /** Sizes of the two identity maps, for tests: {ids, handle}. */
    int[] mapSizes() {
        synchronized (lock) {
            return new int[] {byIds.size(), byHandle.size()};
        }
    }

    /** Lookup count of an inode, for tests. */
    long lookups(Inode inode) {
        synchronized (lock) {
            return inode.lookups;
        }
    }

    /**
     * Inodes may hold all but a reserve of the fds RLIMIT_NOFILE allows: 1/16 of it, at least 256,
     * stays for open files, directories and the transport (as the fd-only mode of virtiofsd, a
     * guest looking up more files than that gets ENFILE instead of starving the daemon).
     */
    static long defaultFdBudget() {
        long limit;
        try {
            limit = Linux.openFileLimit();
        } catch (ErrnoException e) {
            return Long.MAX_VALUE;
        }
        if (limit <= 0 || limit > Long.MAX_VALUE / 2) {
            return Long.MAX_VALUE; // RLIM_INFINITY
        }
        return Math.max(64, limit - Math.max(256, limit / 16));
    }
}
