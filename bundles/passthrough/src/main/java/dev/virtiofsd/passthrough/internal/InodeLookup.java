package dev.virtiofsd.passthrough.internal;

import static dev.virtiofsd.api.Errno.ESTALE;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.Attr;
import dev.virtiofsd.api.fs.EntryOut;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.Statx;

/**
 * Names to inodes: a name in a directory ("." is the directory, ".." at the root stays the root),
 * the inode behind a fresh O_PATH fd (found in the store by its ids, or given an identity by the
 * current strategy: ENFILE beyond the fd budget), and the attributes and entry the guest gets.
 */
final class InodeLookup {
    private final InodeStore store;
    private final LiveStrategies strategies;
    private final PassthroughFeatures features;
    /** Entry and attribute timeout of every reply. */
    private final long timeout;

    private final boolean announceSubmounts;

    InodeLookup(InodeStore store, LiveStrategies strategies, PassthroughOptions options) {
        this.store = store;
        this.strategies = strategies;
        this.features = options.features();
        this.timeout = options.timeoutNanos();
        this.announceSubmounts = options.announceSubmounts();
    }

    /** Makes the share's root (its O_PATH fd {@code rootFd}) an inode of the store, with an identity by {@code slot}. */
    void setRoot(int rootFd, StrategySlot slot) throws ErrnoException {
        int dup = Linux.openat(rootFd, ".", Linux.O_PATH | Linux.O_DIRECTORY, 0);
        Statx st = ThreadScratch.get().statx;
        try {
            st.ofFd(dup);
        } catch (ErrnoException e) {
            Linux.close(dup);
            throw e;
        }
        long mnt = st.mountIdOf(dup);
        IdsKey ids = new IdsKey(st.ino(), st.dev(), mnt);
        int mode = st.mode();
        InodeIdentity id = slot.provider.identify(dup, mnt, mode);
        store.setRoot(ids, id, mode, slot);
    }

    long timeout() {
        return timeout;
    }

    void fillAttr(Attr a, Statx st) {
        a.ino = st.ino();
        a.size = st.size();
        a.blocks = st.blocks();
        a.atime = st.atimeSec();
        a.atimensec = st.atimeNsec();
        a.mtime = st.mtimeSec();
        a.mtimensec = st.mtimeNsec();
        a.ctime = st.ctimeSec();
        a.ctimensec = st.ctimeNsec();
        a.mode = st.mode();
        a.nlink = st.nlink();
        a.uid = features.uids().toGuest(st.uid());
        a.gid = features.gids().toGuest(st.gid());
        a.rdev = st.rdevFuse();
        a.blksize = st.blksize();
        a.flags = 0;
    }

    private void fillEntry(EntryOut out, Inode inode, Statx st, Inode parent) {
        out.nodeId = inode.nodeId;
        out.generation = 0;
        out.entryTimeoutNanos = timeout;
        out.attrTimeoutNanos = timeout;
        fillAttr(out.attr, st);
        if (announceSubmounts && parent != null && inode.isDir() && inode.mntId != parent.mntId) {
            out.attr.flags |= Attr.FLAG_SUBMOUNT;
        }
    }

    /**
     * Looks {@code name} up in {@code parent} (whose path fd is {@code pfd}) and counts one lookup.
     * "." is the parent itself, ".." at the root stays the root. Returns the inode with a reference
     * for the caller, who releases it (or hands it to an open file).
     */
    Inode lookupIn(Inode parent, int pfd, long name, EntryOut out) throws ErrnoException {
        Statx st = ThreadScratch.get().statx;
        if (isDot(name) || (isDotDot(name) && parent.root)) {
            st.ofFd(pfd);
            // the inode now under the parent's node id: a conversion may have replaced the one we use
            Inode self = store.refCurrent(parent);
            if (self == null) {
                throw ErrnoException.of(ESTALE);
            }
            fillEntry(out, self, st, null);
            return self;
        }
        int fd = Linux.openat(pfd, name, Linux.O_PATH | Linux.O_NOFOLLOW, 0);
        return insert(parent, fd, out);
    }

    /**
     * Makes (or finds) the inode behind a fresh O_PATH fd, which this call takes over. Returns it
     * with a reference for the caller.
     */
    Inode insert(Inode parent, int fd, EntryOut out) throws ErrnoException {
        ThreadScratch scratch = ThreadScratch.get();
        Statx st = scratch.statx;
        try {
            st.ofFd(fd);
        } catch (ErrnoException e) {
            Linux.close(fd);
            throw e;
        }
        long mnt = st.mountIdOf(fd);
        int mode = st.mode();
        IdsKey ids = scratch.probe.set(st.ino(), st.dev(), mnt);
        StrategySlot slot = strategies.enterCurrent();
        Inode inode;
        try {
            InodeIdentity id = slot.provider.identify(fd, mnt, mode);
            inode = id.handle() == null ? knownByHandle(ids, id) : null;
            if (inode == null) {
                inode = store.findOrInsert(ids, id, mode, slot);
                if (inode == null) {
                    // Out of inode fds: refuse this new inode rather than leave the daemon without fds
                    // for open files, vhost-user messages and eventfds.
                    id.close();
                    strategies.maybeAutoConvert();
                    throw ErrnoException.of(Errno.ENFILE);
                }
            }
        } finally {
            slot.exit(store.lock());
        }
        strategies.afterInsert();
        fillEntry(out, inode, st, parent);
        return inode;
    }

    /**
     * An fd identity (no handle) for ids that an inode known by handle has: after a switch from a
     * handle strategy to an fd one. The store cannot trust the ids match alone (that inode does not
     * pin its inode number), so its handle is opened: if that works and names the same ids, the file
     * is alive and is that inode, which counts the lookup and is returned with a reference for the
     * caller ({@code id} is closed). Else null, and {@code id} is still the caller's.
     */
    private Inode knownByHandle(IdsKey ids, InodeIdentity id) {
        Inode cand = store.handleHolderOf(ids);
        if (cand == null) {
            return null;
        }
        Statx st = ThreadScratch.get().statx2;
        boolean same;
        try (InodeUse u = InodeUse.of(cand)) {
            int fd = u.pathFd();
            st.ofFd(fd);
            same = st.ino() == ids.ino && st.dev() == ids.dev && st.mountIdOf(fd) == ids.mntId;
        } catch (ErrnoException e) {
            same = false;
        }
        if (!same || !store.ref(cand)) {
            cand.release();
            return null;
        }
        id.close();
        return cand;
    }

    private static boolean isDot(long name) {
        return NativeMemory.getByte(name) == '.' && NativeMemory.getByte(name + 1) == 0;
    }

    private static boolean isDotDot(long name) {
        return NativeMemory.getByte(name) == '.'
                && NativeMemory.getByte(name + 1) == '.'
                && NativeMemory.getByte(name + 2) == 0;
    }
}
