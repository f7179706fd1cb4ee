package dev.virtiofsd.passthrough.internal;

import static dev.virtiofsd.api.Errno.EBADF;
import static dev.virtiofsd.api.Errno.EINVAL;
import static dev.virtiofsd.api.Errno.ENOENT;
import static dev.virtiofsd.api.Errno.ENOSYS;
import static dev.virtiofsd.api.Errno.EROFS;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.control.StrategyControl;
import dev.virtiofsd.api.fs.AttrOut;
import dev.virtiofsd.api.fs.DirSink;
import dev.virtiofsd.api.fs.EntryOut;
import dev.virtiofsd.api.fs.FileLock;
import dev.virtiofsd.api.fs.FileSystem;
import dev.virtiofsd.api.fs.MigratableFileSystem;
import dev.virtiofsd.api.fs.OpenOut;
import dev.virtiofsd.api.fs.RequestContext;
import dev.virtiofsd.api.fs.SegmentList;
import dev.virtiofsd.api.fs.SetattrIn;
import dev.virtiofsd.api.fs.StatfsOut;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.api.introspect.InodeStats;
import dev.virtiofsd.linux.Accounts;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.Statvfs;
import dev.virtiofsd.linux.Statx;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Passes FUSE operations through to a host directory, like virtiofsd's passthrough filesystem.
 * Every operation is an {@code *at} call relative to an inode's O_PATH fd (or a /proc/self/fd path
 * where O_PATH fds cannot be used); the daemon never follows a symlink and never leaves the shared
 * directory. Inodes hold the identity their strategy gave them (see {@link InodeStore}). In the
 * framework, {@link PassthroughComponent} configures it; tests and tools use the constructor.
 */
public sealed class PassthroughFileSystem
        implements FileSystem, MigratableFileSystem, InodeStats, StrategyControl, AutoCloseable
        permits PassthroughComponent {
    private static final Logger LOG = LoggerFactory.getLogger(PassthroughFileSystem.class);

    private PassthroughOptions options;
    private int rootFd = -1;
    private InodeStore store;
    private final OpenFiles files = new OpenFiles();

    private long timeout;
    private PassthroughFeatures features;
    /** Xattr names of the guest: the map (or none) and the ACL names we refuse without POSIX ACLs. */
    private XattrNames xattrNames;
    /** What INIT negotiated: writeback cache and POSIX ACLs on for this session. */
    private InitNegotiation session;

    private volatile boolean closed;
    /** virtiofsd's --migration-* options (PassthroughMigration). */
    private volatile MigrationOptions migration = MigrationOptions.DEFAULTS;

    /** The strategies bound, the one new inodes get, switching and conversion. */
    private final LiveStrategies strategies = new LiveStrategies();

    private EntryCreation creation;
    private AttributeChanges attributes;
    private OpenFlags openFlags;
    private PosixLocks locks;
    private XattrOperations xattrs;
    private InodeLookup lookup;
    /** READDIR(PLUS); made once, so that a request allocates no lookup function. */
    private DirectoryListing listing;

    /** For {@link PassthroughComponent}: strategies arrive through {@link #bindStrategy}, then {@link #start}. */
    PassthroughFileSystem() {}

    /** A filesystem with one strategy, outside a framework (tests, tools). */
    public PassthroughFileSystem(PassthroughOptions options, InodeIdentityStrategy strategy) throws ErrnoException {
        strategies.bind(strategy.name(), strategy);
        start(options, strategy.name());
    }

    /** Whether a strategy service named {@code name} is registered now. */
    final boolean hasStrategy(String name) {
        return strategies.bound(name) != null;
    }

    /** The strategy the configuration names (new inodes get the fallback while its bundle is away). */
    final String wantedStrategy() {
        return strategies.wanted();
    }

    /** Opens the share with strategy {@code strategyName} (registered) for new inodes. */
    final void start(PassthroughOptions options, String strategyName) throws ErrnoException {
        this.options = options;
        this.timeout = options.timeoutNanos();
        this.features = options.features();
        this.xattrNames = new XattrNames(features.xattrMap());
        long budget = options.inodeFdBudget() > 0 ? options.inodeFdBudget() : InodeStore.defaultFdBudget();
        this.store = new InodeStore(budget);
        this.session = new InitNegotiation(features, options.announceSubmounts());
        this.lookup = new InodeLookup(store, strategies, options);
        this.listing = new DirectoryListing(
                (dir, dirFd, name, e) -> lookup.lookupIn(dir, dirFd, name, e).release());
        this.creation = new EntryCreation(lookup, features, xattrNames, session, Accounts.euid() == 0);
        this.attributes = new AttributeChanges(features, xattrNames);
        this.openFlags = new OpenFlags(features, options.cacheMode(), session);
        this.locks = new PosixLocks(store, files);
        this.xattrs = new XattrOperations(xattrNames);
        // The client applies the caller's umask; ours must not apply a second time.
        Linux.umask(0);
        int fd = Linux.open(options.sharedDir().toString(), Linux.O_PATH | Linux.O_DIRECTORY, 0);
        this.rootFd = fd;
        strategies.attach(store, fd, budget);
        StrategySlot slot;
        try {
            slot = strategies.open(strategyName, strategies.bound(strategyName));
        } catch (RuntimeException e) {
            Linux.close(fd);
            throw e;
        }
        try {
            lookup.setRoot(fd, slot);
        } catch (ErrnoException | RuntimeException e) {
            slot.provider.close();
            Linux.close(fd);
            throw e;
        }
        strategies.begin(strategyName, slot);
        LOG.debug("passthrough on {} with strategy {}", options, strategyName);
    }

    /** A strategy service registered under its name; the configured one coming back is used again. */
    final void bindStrategy(InodeIdentityStrategy strategy, Map<String, Object> properties) {
        strategies.bind(LiveStrategies.serviceName(strategy, properties), strategy);
    }

    /** A strategy service goes away: see {@link LiveStrategies#unbind}. */
    final void unbindStrategy(InodeIdentityStrategy strategy, Map<String, Object> properties) {
        strategies.unbind(LiveStrategies.serviceName(strategy, properties), strategy);
    }

    // ---- StrategyControl: see LiveStrategies ---------------------------------------------------

    @Override
    public List<String> available() {
        return strategies.available();
    }

    /**
     * New inodes get strategy {@code name} from now on; the inodes already known keep the identity
     * (and the strategy instance) that made them, which closes when the last of them is forgotten.
     */
    @Override
    public void select(String name) {
        strategies.select(name);
    }

    @Override
    public long convertFdInodes(long max) {
        return strategies.convertFdInodes(max);
    }

    /** Sets the --migration-* options (the component, from its configuration; tests). */
    final void migrationOptions(MigrationOptions options) {
        this.migration = options;
    }

    // ---- live migration: see PassthroughMigration and docs/migration.md -------------------------

    @Override
    public void saveState(java.io.DataOutputStream out) throws java.io.IOException {
        try (PassthroughMigration m = migration()) {
            m.save(out);
        }
    }

    @Override
    public void loadState(java.io.DataInputStream in) throws java.io.IOException {
        destroy();
        try (PassthroughMigration m = migration()) {
            m.load(in);
        }
    }

    private PassthroughMigration migration() {
        return new PassthroughMigration(store, files.map(), files.nextFh(), rootFd, strategies.current(), migration);
    }

    @Override
    public final void close() {
        if (closed) {
            return;
        }
        closed = true;
        strategies.close();
        if (store == null) {
            return;
        }
        files.closeAll();
        store.closeAll();
        strategies.current().retire(store.lock());
        Linux.close(rootFd);
    }

    public PassthroughOptions options() {
        return options;
    }

    // ---- helpers ---------------------------------------------------------------------------

    /** This request's use of node {@code nodeId} (close it when done); EBADF if the store does not know it. */
    private InodeUse use(long nodeId) throws ErrnoException {
        return InodeUse.of(store, nodeId);
    }

    /** This request's use of an inode it reaches through something it holds (an open file). */
    private static InodeUse use(Inode held) {
        return InodeUse.of(held);
    }

    private void checkWritable() throws ErrnoException {
        if (options.readonly()) {
            throw ErrnoException.of(EROFS);
        }
    }

    // ---- FileSystem ------------------------------------------------------------------------

    @Override
    public long initFlags(long kernelFlags) {
        return session.negotiate(kernelFlags);
    }

    @Override
    public void destroy() {
        // Drops the fh map's and the store's references only: a request still in flight (on another
        // queue, or a worker) keeps what it uses until it is done.
        files.closeAll();
        store.clearAllButRoot();
        session.reset();
    }

    @Override
    public void lookup(RequestContext ctx, long parent, long name, EntryOut out) throws ErrnoException {
        try (InodeUse p = use(parent)) {
            lookup.lookupIn(p.inode(), p.pathFd(), name, out).release();
        }
    }

    @Override
    public void forget(long nodeId, long nlookup) {
        store.forget(nodeId, nlookup);
    }

    @Override
    public void getattr(RequestContext ctx, long nodeId, long fh, AttrOut out) throws ErrnoException {
        Statx st = ThreadScratch.get().statx;
        try (InodeUse u = use(nodeId)) {
            st.ofFd(u.pathFd());
        }
        lookup.fillAttr(out.attr, st);
        out.attrTimeoutNanos = timeout;
    }

    @Override
    public void setattr(RequestContext ctx, long nodeId, SetattrIn in, AttrOut out) throws ErrnoException {
        checkWritable();
        ThreadScratch s = ThreadScratch.get();
        try (InodeUse u = use(nodeId);
                OpenFile f = in.has(SetattrIn.FATTR_FH) ? files.file(nodeId, in.fh) : null) {
            attributes.set(u, f, in);
            s.statx.ofFd(u.pathFd());
        }
        lookup.fillAttr(out.attr, s.statx);
        out.attrTimeoutNanos = timeout;
    }

    @Override
    public int readlink(RequestContext ctx, long nodeId, long buffer, int capacity) throws ErrnoException {
        try (InodeUse u = use(nodeId)) {
            return Linux.readlinkat(u.pathFd(), Linux.EMPTY_PATH, buffer, capacity);
        }
    }

    /** Runs {@code op} in {@code parent} as the caller, then looks the new entry up: see {@link EntryCreation#create}. */
    private Inode create(
            RequestContext ctx, long parent, long name, int umask, boolean dir, EntryOut out, EntryCreation.Creation op)
            throws ErrnoException {
        checkWritable();
        try (InodeUse p = use(parent)) {
            return creation.create(ctx, p, name, umask, dir, out, op);
        }
    }

    @Override
    public void symlink(RequestContext ctx, long parent, long name, long target, EntryOut out) throws ErrnoException {
        create(ctx, parent, name, CallerCredentials.NO_UMASK, false, out, pfd -> Linux.symlinkat(target, pfd, name))
                .release();
    }

    @Override
    public void mknod(RequestContext ctx, long parent, long name, int mode, int rdev, int umask, EntryOut out)
            throws ErrnoException {
        // fuse carries the kernel's new_encode_dev(); glibc's dev_t wants makedev(major, minor)
        long major = (rdev & 0xfff00L) >>> 8;
        long minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
        long dev = Statx.makedev(major, minor);
        create(ctx, parent, name, umask, false, out, pfd -> Linux.mknodat(pfd, name, mode, dev))
                .release();
    }

    @Override
    public void mkdir(RequestContext ctx, long parent, long name, int mode, int umask, EntryOut out)
            throws ErrnoException {
        create(ctx, parent, name, umask, true, out, pfd -> Linux.mkdirat(pfd, name, mode))
                .release();
    }

    @Override
    public void unlink(RequestContext ctx, long parent, long name) throws ErrnoException {
        remove(parent, name, 0);
    }

    @Override
    public void rmdir(RequestContext ctx, long parent, long name) throws ErrnoException {
        remove(parent, name, Linux.AT_REMOVEDIR);
    }

    private void remove(long parent, long name, int flags) throws ErrnoException {
        checkWritable();
        try (InodeUse p = use(parent)) {
            Linux.unlinkat(p.pathFd(), name, flags);
        }
    }

    @Override
    public void rename(RequestContext ctx, long parent, long name, long newParent, long newName, int flags)
            throws ErrnoException {
        checkWritable();
        if ((flags & ~(Linux.RENAME_NOREPLACE | Linux.RENAME_EXCHANGE | Linux.RENAME_WHITEOUT)) != 0) {
            throw ErrnoException.of(EINVAL);
        }
        try (InodeUse p = use(parent);
                InodeUse np = use(newParent)) {
            Linux.renameat2(p.pathFd(), name, np.pathFd(), newName, flags);
        }
    }

    @Override
    public void link(RequestContext ctx, long nodeId, long newParent, long newName, EntryOut out)
            throws ErrnoException {
        checkWritable();
        try (InodeUse u = use(nodeId);
                InodeUse np = use(newParent)) {
            int fd = u.pathFd();
            int npfd = np.pathFd();
            try {
                // Needs CAP_DAC_READ_SEARCH; the /proc path below works without it.
                Linux.linkat(fd, Linux.EMPTY_PATH, npfd, newName, Linux.AT_EMPTY_PATH);
            } catch (ErrnoException e) {
                if (e.errno() != ENOENT && e.errno() != dev.virtiofsd.api.Errno.EPERM) {
                    throw e;
                }
                Linux.linkat(Linux.procDirFd(), Linux.procPath(fd), npfd, newName, Linux.AT_SYMLINK_FOLLOW);
            }
            lookup.lookupIn(np.inode(), npfd, newName, out).release();
        }
    }

    @Override
    public void open(RequestContext ctx, long nodeId, int flags, OpenOut out) throws ErrnoException {
        if (options.readonly() && OpenFlags.writes(flags)) {
            throw ErrnoException.of(EROFS);
        }
        try (InodeUse u = use(nodeId);
                OwnedFd fd = OwnedFd.empty()) {
            Inode i = u.inode();
            int oflags = openFlags.host(flags);
            if (!i.isOpenable()) {
                throw ErrnoException.of(EBADF); // before killpriv touches anything (openForIo checks too)
            }
            if (features.killprivV2() && ctx.killSuidGid && (flags & Linux.O_TRUNC) != 0) {
                KillPriv.clear(u.pathFd()); // FUSE_OPEN_KILL_SUIDGID: our truncate as root would keep them
            }
            fd.own(i.openForIo(oflags));
            if ((flags & Linux.O_TRUNC) != 0) {
                xattrNames.dropMappedCapability(Linux.procPath(fd.fd()));
            }
            i.retain(); // the open file's
            out.fh = files.register(new OpenFile(i, fd.handOver()));
        }
        out.openFlags = openFlags.file();
    }

    @Override
    public void create(
            RequestContext ctx, long parent, long name, int mode, int flags, int umask, EntryOut entry, OpenOut open)
            throws ErrnoException {
        int oflags = openFlags.host(flags) | Linux.O_CREAT | Linux.O_NOFOLLOW;
        boolean exclusive = (flags & Linux.O_EXCL) != 0;
        if (features.killprivV2() && ctx.killSuidGid && (flags & Linux.O_TRUNC) != 0 && !exclusive) {
            // an existing file is truncated: clear setuid/setgid first (the open runs as the caller,
            // but with the fsuid of the owner the host kernel would keep them)
            try (InodeUse p = use(parent)) {
                KillPriv.clearEntry(p.pathFd(), name);
            } catch (ErrnoException e) {
                // no such file yet (or no such parent: the create below answers): nothing to clear
            }
        }
        try (OwnedFd fd = OwnedFd.empty()) {
            Inode inode = create(
                    ctx,
                    parent,
                    name,
                    umask,
                    false,
                    entry,
                    pfd -> fd.own(EntryCreation.createOrOpen(pfd, name, oflags, mode, exclusive)));
            open.fh = files.register(new OpenFile(inode, fd.handOver()));
        }
        open.openFlags = openFlags.file();
    }

    @Override
    public void tmpfile(RequestContext ctx, long parent, int mode, int flags, int umask, EntryOut entry, OpenOut open)
            throws ErrnoException {
        checkWritable();
        try (InodeUse p = use(parent);
                OwnedFd fd = OwnedFd.empty()) {
            fd.own(creation.tmpfile(ctx, p.pathFd(), openFlags.host(flags) & ~Linux.O_DIRECTORY, mode, umask));
            Inode inode = lookup.insert(p.inode(), Linux.reopen(fd.fd(), Linux.O_PATH), entry);
            open.fh = files.register(new OpenFile(inode, fd.handOver()));
        }
        open.openFlags = openFlags.file();
    }

    @Override
    public int read(RequestContext ctx, long nodeId, long fh, long offset, int size, SegmentList dst)
            throws ErrnoException {
        try (OpenFile f = files.file(nodeId, fh)) {
            if (size <= 0) {
                return 0;
            }
            return Linux.preadv(f.fd, dst, size, offset);
        }
    }

    @Override
    public int write(RequestContext ctx, long nodeId, long fh, long offset, SegmentList src, boolean killPriv)
            throws ErrnoException {
        checkWritable();
        try (OpenFile f = files.file(nodeId, fh)) {
            if (killPriv) {
                KillPriv.beforeWrite(f); // before the data lands
            }
            xattrNames.dropMappedCapabilityFd(f.fd);
            return Linux.pwritev(f.fd, src, offset);
        }
    }

    @Override
    public void flush(RequestContext ctx, long nodeId, long fh, long lockOwner) throws ErrnoException {
        try (OpenFile f = files.file(nodeId, fh)) {
            // Releases this owner's POSIX locks, as C virtiofsd's lo_flush does.
            f.inode.dropPlock(lockOwner);
            // Closing a dup makes the host filesystem see a flush (NFS, FUSE), like virtiofsd.
            Linux.close(Linux.dup(f.fd));
        }
    }

    @Override
    public void release(RequestContext ctx, long nodeId, long fh, int flags, long lockOwner, boolean flockRelease)
            throws ErrnoException {
        files.release(nodeId, fh);
    }

    @Override
    public void fsync(RequestContext ctx, long nodeId, long fh, boolean datasync) throws ErrnoException {
        try (OpenFile f = files.file(nodeId, fh)) {
            f.sync(datasync);
        }
    }

    @Override
    public void opendir(RequestContext ctx, long nodeId, int flags, OpenOut out) throws ErrnoException {
        try (InodeUse u = use(nodeId)) {
            out.fh = files.register(OpenFile.Dir.open(u.inode()));
        }
        out.openFlags = openFlags.dir();
    }

    @Override
    public void readdir(RequestContext ctx, long nodeId, long fh, long offset, DirSink sink) throws ErrnoException {
        boolean plus = sink.plus();
        try (OpenFile.Dir d = files.dir(nodeId, fh);
                InodeUse dirUse = plus ? use(d.inode) : null) {
            listing.fill(d, plus ? dirUse.pathFd() : -1, offset, sink);
        }
    }

    @Override
    public void releasedir(RequestContext ctx, long nodeId, long fh) throws ErrnoException {
        files.releaseDir(nodeId, fh);
    }

    @Override
    public void fsyncdir(RequestContext ctx, long nodeId, long fh, boolean datasync) throws ErrnoException {
        try (OpenFile.Dir d = files.dir(nodeId, fh)) {
            d.sync(datasync);
        }
    }

    @Override
    public void statfs(RequestContext ctx, long nodeId, StatfsOut out) throws ErrnoException {
        Statvfs v = Statvfs.perThread();
        try (InodeUse u = use(nodeId)) {
            v.ofFd(u.pathFd());
        }
        out.bsize = (int) v.blockSize();
        out.frsize = (int) v.fragmentSize();
        out.blocks = v.blocks();
        out.bfree = v.freeBlocks();
        out.bavail = v.availableBlocks();
        out.files = v.files();
        out.ffree = v.freeFiles();
        out.namelen = (int) v.nameMax();
    }

    @Override
    public void access(RequestContext ctx, long nodeId, int mask) throws ErrnoException {
        Statx st = ThreadScratch.get().statx;
        try (InodeUse u = use(nodeId)) {
            st.ofFd(u.pathFd());
        }
        if ((mask & (AccessRules.R_OK | AccessRules.W_OK | AccessRules.X_OK)) == 0) {
            return; // F_OK: it exists
        }
        int uid = features.uids().toHost(ctx.uid);
        int gid = features.gids().toHost(ctx.gid);
        AccessRules.check(st.mode(), st.uid(), st.gid(), uid, gid, mask);
    }

    private void checkXattr() throws ErrnoException {
        if (!options.xattr()) {
            throw ErrnoException.of(ENOSYS);
        }
    }

    @Override
    public void setxattr(RequestContext ctx, long nodeId, long xattrName, long value, int size, int flags)
            throws ErrnoException {
        checkXattr();
        checkWritable();
        try (InodeUse u = use(nodeId)) {
            xattrs.set(ctx, u.pathFd(), xattrName, value, size, flags, session.acl());
        }
    }

    @Override
    public int getxattr(RequestContext ctx, long nodeId, long xattrName, long buffer, int capacity)
            throws ErrnoException {
        checkXattr();
        try (InodeUse u = use(nodeId)) {
            return xattrs.get(u.pathFd(), xattrName, buffer, capacity, session.acl());
        }
    }

    @Override
    public int listxattr(RequestContext ctx, long nodeId, long buffer, int capacity) throws ErrnoException {
        checkXattr();
        boolean acl = session.acl();
        try (InodeUse u = use(nodeId)) {
            return xattrs.list(u.pathFd(), buffer, capacity, acl);
        }
    }

    @Override
    public void removexattr(RequestContext ctx, long nodeId, long xattrName) throws ErrnoException {
        checkXattr();
        checkWritable();
        try (InodeUse u = use(nodeId)) {
            xattrs.remove(u.pathFd(), xattrName, session.acl());
        }
    }

    @Override
    public void fallocate(RequestContext ctx, long nodeId, long fh, int mode, long offset, long length)
            throws ErrnoException {
        checkWritable();
        try (OpenFile f = files.file(nodeId, fh)) {
            Linux.fallocate(f.fd, mode, offset, length);
        }
    }

    @Override
    public long lseek(RequestContext ctx, long nodeId, long fh, long offset, int whence) throws ErrnoException {
        try (OpenFile f = files.file(nodeId, fh)) {
            return Linux.lseek(f.fd, offset, whence);
        }
    }

    @Override
    public long copyFileRange(
            RequestContext ctx,
            long nodeIn,
            long fhIn,
            long offIn,
            long nodeOut,
            long fhOut,
            long offOut,
            long length,
            int flags)
            throws ErrnoException {
        checkWritable();
        try (OpenFile in = files.file(nodeIn, fhIn);
                OpenFile out = files.file(nodeOut, fhOut)) {
            return Linux.copyFileRange(in.fd, offIn, out.fd, offOut, length, flags);
        }
    }

    @Override
    public void syncfs(RequestContext ctx, long nodeId) throws ErrnoException {
        try (InodeUse u = use(nodeId)) {
            // syncfs(2) refuses O_PATH fds: open the inode (its own filesystem may be a submount),
            // unless it is not a file or directory: then the shared directory's filesystem.
            int fd;
            try {
                fd = u.inode().openForIo(Linux.O_RDONLY | Linux.O_NONBLOCK);
            } catch (ErrnoException e) {
                fd = Linux.openat(rootFd, ".", Linux.O_RDONLY | Linux.O_DIRECTORY, 0);
            }
            try {
                Linux.syncfs(fd);
            } finally {
                Linux.close(fd);
            }
        }
    }

    // ---- locks: see PosixLocks -------------------------------------------------------------

    @Override
    public void getlk(RequestContext ctx, long nodeId, long fh, long owner, FileLock lock) throws ErrnoException {
        PosixLocks.checkGetlk(lock);
        try (InodeUse u = use(nodeId)) {
            locks.getlk(u.inode(), owner, lock);
        }
    }

    @Override
    public void setlk(RequestContext ctx, long nodeId, long fh, long owner, FileLock lock, boolean flock, boolean sleep)
            throws ErrnoException {
        if (flock) {
            int op = PosixLocks.flockOperation(lock);
            try (OpenFile f = files.file(nodeId, fh)) {
                PosixLocks.flock(f, op, sleep);
            }
            return;
        }
        PosixLocks.checkSetlk(lock);
        try (InodeUse u = use(nodeId)) {
            locks.setlk(u.inode(), fh, owner, lock, sleep);
        }
    }

    /** For tests: lock fds open now. */
    int lockFds() {
        return locks.lockFds();
    }

    /** For tests: caps lock fds. */
    void maxLockFds(int max) {
        locks.maxLockFds(max);
    }

    // ---- InodeStats ------------------------------------------------------------------------

    @Override
    public long inodes() {
        return store.inodes();
    }

    @Override
    public long inodeFds() {
        return store.fds() + strategies.current().provider.heldFds();
    }

    @Override
    public long openFiles() {
        return files.size();
    }

    @Override
    public Map<String, Long> inodesByStrategy() {
        return store.byStrategy();
    }

    @Override
    public Map<String, Long> inodesByKind() {
        return store.byKind();
    }

    @Override
    public String strategy() {
        return strategies.current().name;
    }

    /** For tests: the store. */
    InodeStore store() {
        return store;
    }

    /** For tests: the open files by fh. */
    ConcurrentHashMap<Long, OpenFile> files() {
        return files.map();
    }
}
