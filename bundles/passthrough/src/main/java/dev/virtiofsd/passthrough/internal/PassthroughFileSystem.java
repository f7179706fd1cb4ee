package dev.virtiofsd.passthrough.internal;

import static dev.virtiofsd.api.Errno.EBADF;
import static dev.virtiofsd.api.Errno.EINVAL;
import static dev.virtiofsd.api.Errno.ENOENT;
import static dev.virtiofsd.api.Errno.ENOSYS;
import static dev.virtiofsd.api.Errno.EROFS;
import static dev.virtiofsd.api.Errno.ESTALE;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.control.StrategyControl;
import dev.virtiofsd.api.fs.Attr;
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
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.api.introspect.InodeStats;
import dev.virtiofsd.linux.Accounts;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.Statx;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Passes FUSE operations through to a host directory, like virtiofsd's passthrough filesystem.
 * Every operation is an {@code *at} call relative to an inode's O_PATH fd (or a /proc/self/fd path
 * where O_PATH fds cannot be used); the daemon never follows a symlink and never leaves the shared
 * directory. Inodes hold the identity their strategy gave them (see {@link InodeStore}).
 */
@Component(
        configurationPid = PassthroughFileSystem.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = {FileSystem.class, InodeStats.class, StrategyControl.class})
@Designate(ocd = PassthroughConfig.class)
public final class PassthroughFileSystem
        implements FileSystem, MigratableFileSystem, InodeStats, StrategyControl, AutoCloseable {
    public static final String PID = "dev.virtiofsd.passthrough";
    private static final Logger LOG = LoggerFactory.getLogger(PassthroughFileSystem.class);

    // FUSE_INIT flags (include/uapi/linux/fuse.h)
    static final long FUSE_ASYNC_READ = 1L << 0;
    static final long FUSE_POSIX_LOCKS = 1L << 1;
    static final long FUSE_ATOMIC_O_TRUNC = 1L << 3;
    static final long FUSE_EXPORT_SUPPORT = 1L << 4;
    static final long FUSE_BIG_WRITES = 1L << 5;
    static final long FUSE_FLOCK_LOCKS = 1L << 10;
    static final long FUSE_DO_READDIRPLUS = 1L << 13;
    static final long FUSE_READDIRPLUS_AUTO = 1L << 14;
    static final long FUSE_PARALLEL_DIROPS = 1L << 18;
    static final long FUSE_MAX_PAGES = 1L << 22;
    static final long FUSE_CACHE_SYMLINKS = 1L << 23;
    static final long FUSE_WRITEBACK_CACHE = 1L << 16;
    static final long FUSE_DONT_MASK = 1L << 6;
    static final long FUSE_POSIX_ACL = 1L << 20;
    static final long FUSE_SUBMOUNTS = 1L << 27;
    static final long FUSE_HANDLE_KILLPRIV_V2 = 1L << 28;
    static final long FUSE_SETXATTR_EXT = 1L << 29;
    static final long FUSE_SECURITY_CTX = 1L << 32;
    static final long FUSE_DIRECT_IO_ALLOW_MMAP = 1L << 36;

    static final long UTIME_NOW = (1L << 30) - 1;
    static final long UTIME_OMIT = (1L << 30) - 2;

    /** Names as native NUL-terminated strings, shared read-only by every thread. */
    private static final long DOT = NativeMemory.allocate(8);

    private static final long DOTDOT = DOT + 2;

    static {
        NativeMemory.putByte(DOT, (byte) '.');
        NativeMemory.putByte(DOT + 1, (byte) 0);
        NativeMemory.putByte(DOTDOT, (byte) '.');
        NativeMemory.putByte(DOTDOT + 1, (byte) '.');
        NativeMemory.putByte(DOTDOT + 2, (byte) 0);
    }

    private PassthroughOptions options;
    private int rootFd = -1;
    private InodeStore store;
    private final ConcurrentHashMap<Long, OpenFile> files = new ConcurrentHashMap<>(256);
    private final AtomicLong nextFh = new AtomicLong(1);

    private boolean switchCreds;
    private long timeout;
    private PassthroughFeatures features;
    /** Xattr names of the guest: the map (or none) and the ACL names we refuse without POSIX ACLs. */
    private XattrNames xattrNames;
    /** Negotiated at INIT: writeback cache and POSIX ACLs are on for this session. */
    private volatile boolean writebackOn;

    private volatile boolean aclOn;
    private volatile boolean closed;
    /** virtiofsd's --migration-* options (PassthroughMigration). */
    private volatile MigrationOptions migration = MigrationOptions.DEFAULTS;

    /** The strategies bound, the one new inodes get, switching and conversion. */
    private final LiveStrategies strategies = new LiveStrategies();

    private PosixLocks locks;
    private XattrOperations xattrs;
    /** READDIR(PLUS); made once, so that a request allocates no lookup function. */
    private final DirectoryListing listing = new DirectoryListing(this::lookupIn);

    /** For Declarative Services: strategies arrive through {@link #bindStrategy}, then {@link #activate}. */
    public PassthroughFileSystem() {}

    /** A filesystem with one strategy, outside a framework (tests, tools). */
    public PassthroughFileSystem(PassthroughOptions options, InodeIdentityStrategy strategy) throws ErrnoException {
        strategies.bind(strategy.name(), strategy);
        start(options, strategy.name());
    }

    /**
     * Configuration PID {@value #PID}; the strategy named by key {@code strategy} must be registered
     * (else activation fails with one line naming the ones that are).
     */
    @Activate
    void activate(PassthroughConfig config, Map<String, Object> properties) throws ErrnoException {
        this.migration = MigrationOptions.from(properties);
        String name = strategyName(config, properties);
        if (strategies.bound(name) == null) {
            throw new IllegalStateException("no inode-identity strategy named " + name + " (available: "
                    + String.join(", ", available()) + ")");
        }
        start(fromConfig(config), name);
    }

    /**
     * A changed configuration while the share is served: a new {@code strategy} takes effect for new
     * inodes at once; the --migration-* options too. The share itself (directory, cache, read-only,
     * xattr, submounts) stays as started.
     */
    @Modified
    void modified(PassthroughConfig config, Map<String, Object> properties) {
        this.migration = MigrationOptions.from(properties);
        PassthroughOptions o = fromConfig(config).inodeFdBudget(options.inodeFdBudget());
        if (!o.toString().equals(options.toString())) {
            LOG.warn("configuration {} changed the share ({}); that takes effect at the next start", PID, o);
        }
        String name = strategyName(config, properties);
        if (!name.equals(strategies.wanted())) {
            try {
                select(name);
            } catch (RuntimeException e) {
                LOG.error(
                        "strategy {}: {}; new inodes keep getting {}", name, e.getMessage(), strategies.current().name);
            }
        }
    }

    /** Key {@code strategy}; the older {@code strategy.target} filter "(inode.identity=NAME)" is understood too. */
    static String strategyName(PassthroughConfig config, Map<String, Object> properties) {
        String name = config.strategy();
        if (name != null && !name.isEmpty()) {
            return name;
        }
        Object target = properties.get("strategy.target");
        if (target instanceof String t) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(inode\\.identity=([^()]+)\\)")
                    .matcher(t);
            if (m.matches()) {
                return m.group(1);
            }
        }
        return "fd";
    }

    private void start(PassthroughOptions options, String strategyName) throws ErrnoException {
        this.options = options;
        this.timeout = options.timeoutNanos();
        this.features = options.features();
        this.xattrNames = new XattrNames(features.xattrMap());
        long budget = options.inodeFdBudget() > 0 ? options.inodeFdBudget() : defaultFdBudget();
        this.store = new InodeStore(budget);
        this.locks = new PosixLocks(store, files);
        this.xattrs = new XattrOperations(xattrNames);
        // The client applies the caller's umask; ours must not apply a second time.
        Linux.umask(0);
        this.switchCreds = Accounts.euid() == 0;
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
            int dup = Linux.openat(fd, ".", Linux.O_PATH | Linux.O_DIRECTORY, 0);
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
        } catch (ErrnoException | RuntimeException e) {
            slot.provider.close();
            Linux.close(fd);
            throw e;
        }
        strategies.begin(strategyName, slot);
        LOG.debug("passthrough on {} with strategy {}", options, strategyName);
    }

    /**
     * Every registered strategy, dynamically: a strategy bundle may come, go or be updated while the
     * share is mounted.
     */
    @Reference(
            name = "strategies",
            service = InodeIdentityStrategy.class,
            cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY,
            unbind = "unbindStrategy")
    void bindStrategy(InodeIdentityStrategy strategy, Map<String, Object> properties) {
        strategies.bind(name(strategy, properties), strategy);
    }

    /** A strategy service goes away: see {@link LiveStrategies#unbind}. */
    void unbindStrategy(InodeIdentityStrategy strategy, Map<String, Object> properties) {
        strategies.unbind(name(strategy, properties), strategy);
    }

    private static String name(InodeIdentityStrategy strategy, Map<String, Object> properties) {
        Object n = properties.get(InodeIdentityStrategy.PROPERTY);
        return n instanceof String s ? s : strategy.name();
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

    /** Sets the --migration-* options (tests; the DS constructor reads them from the configuration). */
    void migrationOptions(MigrationOptions options) {
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
        return new PassthroughMigration(store, files, nextFh, rootFd, strategies.current(), migration);
    }

    static PassthroughOptions fromConfig(PassthroughConfig c) {
        String dir = c.shared_dir();
        if (dir == null || dir.isEmpty()) {
            throw new IllegalArgumentException("shared.dir is not set");
        }
        return PassthroughOptions.of(Paths.get(dir))
                .cache(c.cache())
                .xattr(c.xattr())
                .readonly(c.readonly())
                .announceSubmounts(c.announce_submounts())
                .features(PassthroughFeatures.fromConfig(c));
    }

    @Deactivate
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        strategies.close();
        if (store == null) {
            return;
        }
        closeFiles();
        store.closeAll();
        strategies.current().retire(store.lock());
        Linux.close(rootFd);
    }

    public PassthroughOptions options() {
        return options;
    }

    // ---- helpers ---------------------------------------------------------------------------

    /**
     * This request's use of node {@code nodeId}, to close when done (try-with-resources). As Rust
     * virtiofsd, a node id the store does not know (never handed out, or forgotten) is EBADF.
     */
    private InodeUse use(long nodeId) throws ErrnoException {
        Inode i = store.acquire(nodeId);
        if (i == null) {
            throw ErrnoException.of(EBADF);
        }
        return ThreadScratch.get().uses.use(i);
    }

    /** This request's use of an inode it reaches through something it holds (an open file). */
    private static InodeUse use(Inode held) {
        held.retain();
        return ThreadScratch.get().uses.use(held);
    }

    /** The open file {@code fh} of {@code nodeId} with a reference for this request (close it); else EBADF. */
    private OpenFile file(long nodeId, long fh) throws ErrnoException {
        OpenFile f = files.get(fh);
        if (f == null || f.inode.nodeId != nodeId || f instanceof OpenFile.Dir || !f.tryRetain()) {
            throw ErrnoException.of(EBADF);
        }
        return f;
    }

    /** As {@link #file} for an open directory. */
    private OpenFile.Dir dir(long nodeId, long fh) throws ErrnoException {
        OpenFile f = files.get(fh);
        if (!(f instanceof OpenFile.Dir d) || f.inode.nodeId != nodeId || !f.tryRetain()) {
            throw ErrnoException.of(EBADF);
        }
        return d;
    }

    private long register(OpenFile f) {
        long fh = nextFh.getAndIncrement();
        files.put(fh, f);
        return fh;
    }

    private void checkWritable() throws ErrnoException {
        if (options.readonly()) {
            throw ErrnoException.of(EROFS);
        }
    }

    static boolean isDot(long name) {
        return NativeMemory.getByte(name) == '.' && NativeMemory.getByte(name + 1) == 0;
    }

    static boolean isDotDot(long name) {
        return NativeMemory.getByte(name) == '.'
                && NativeMemory.getByte(name + 1) == '.'
                && NativeMemory.getByte(name + 2) == 0;
    }

    /**
     * The caller's credentials (its ids mapped by --translate-uid/gid first: EPERM for forbidden
     * ones) for one creation; with {@code setUmask} and POSIX ACLs on, its umask too.
     */
    private CallerCredentials asCaller(RequestContext ctx, boolean setUmask, int umask) throws ErrnoException {
        int uid = features.uids().toHost(ctx.uid);
        int gid = features.gids().toHost(ctx.gid);
        return CallerCredentials.enter(switchCreds, uid, gid, setUmask && aclOn, umask);
    }

    private void fillAttr(Attr a, Statx st) {
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
        if (options.announceSubmounts() && parent != null && inode.isDir() && inode.mntId != parent.mntId) {
            out.attr.flags |= Attr.FLAG_SUBMOUNT;
        }
    }

    /**
     * Looks {@code name} up in {@code parent} (whose path fd is {@code pfd}) and counts one lookup.
     * "." is the parent itself, ".." at the root stays the root. Returns the inode with a reference
     * for the caller, who releases it (or hands it to an open file).
     */
    private Inode lookupIn(Inode parent, int pfd, long name, EntryOut out) throws ErrnoException {
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
    private Inode insert(Inode parent, int fd, EntryOut out) throws ErrnoException {
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
        try {
            int fd = cand.identity.acquirePath();
            try {
                st.ofFd(fd);
                same = st.ino() == ids.ino && st.dev() == ids.dev && st.mountIdOf(fd) == ids.mntId;
            } finally {
                cand.identity.releasePath(fd);
            }
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

    // ---- FileSystem ------------------------------------------------------------------------

    @Override
    public long initFlags(long kernelFlags) {
        long want = FUSE_ASYNC_READ
                | FUSE_ATOMIC_O_TRUNC
                | FUSE_BIG_WRITES
                | FUSE_PARALLEL_DIROPS
                | FUSE_MAX_PAGES
                | FUSE_CACHE_SYMLINKS
                | FUSE_EXPORT_SUPPORT;
        PassthroughFeatures f = features;
        if (f.posixLocks()) {
            want |= FUSE_POSIX_LOCKS;
        }
        if (f.flockLocks()) {
            want |= FUSE_FLOCK_LOCKS;
        }
        if (f.readdirplus()) {
            want |= FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO;
        }
        if (options.announceSubmounts()) {
            want |= FUSE_SUBMOUNTS;
        }
        if (f.writeback()) {
            want |= FUSE_WRITEBACK_CACHE;
        }
        if (f.killprivV2()) {
            want |= FUSE_HANDLE_KILLPRIV_V2;
            if ((kernelFlags & FUSE_HANDLE_KILLPRIV_V2) == 0) {
                LOG.warn("Cannot enable KILLPRIV_V2, client does not support it");
            }
        }
        if (f.posixAcl()) {
            long acl = FUSE_POSIX_ACL | FUSE_DONT_MASK | FUSE_SETXATTR_EXT;
            if ((kernelFlags & acl) == acl) {
                want |= acl;
            } else {
                LOG.error(
                        "Cannot enable posix ACLs, client does not support it (kernel flags 0x{})",
                        Long.toHexString(kernelFlags));
            }
        }
        if (f.securityLabel()) {
            want |= FUSE_SECURITY_CTX;
            if ((kernelFlags & FUSE_SECURITY_CTX) == 0) {
                LOG.error("Cannot enable security label: the kernel does not support FUSE_SECURITY_CTX");
            }
        }
        if (f.allowMmap()) {
            want |= FUSE_DIRECT_IO_ALLOW_MMAP;
        }
        long granted = want & kernelFlags;
        writebackOn = (granted & FUSE_WRITEBACK_CACHE) != 0;
        aclOn = (granted & FUSE_POSIX_ACL) != 0;
        return granted;
    }

    @Override
    public void destroy() {
        // Drops the fh map's and the store's references only: a request still in flight (on another
        // queue, or a worker) keeps what it uses until it is done.
        closeFiles();
        store.clearAllButRoot();
        writebackOn = false;
        aclOn = false;
    }

    private void closeFiles() {
        for (Map.Entry<Long, OpenFile> e : files.entrySet()) {
            if (files.remove(e.getKey(), e.getValue())) {
                e.getValue().close(); // the fh map's reference
            }
        }
    }

    @Override
    public void lookup(RequestContext ctx, long parent, long name, EntryOut out) throws ErrnoException {
        try (InodeUse p = use(parent)) {
            lookupIn(p.inode(), p.pathFd(), name, out).release();
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
        fillAttr(out.attr, st);
        out.attrTimeoutNanos = timeout;
    }

    @Override
    public void setattr(RequestContext ctx, long nodeId, SetattrIn in, AttrOut out) throws ErrnoException {
        checkWritable();
        ThreadScratch s = ThreadScratch.get();
        try (InodeUse u = use(nodeId);
                OpenFile f = in.has(SetattrIn.FATTR_FH) ? file(nodeId, in.fh) : null) {
            Inode i = u.inode();
            int fd = u.pathFd();
            if (in.has(SetattrIn.FATTR_MODE)) {
                Linux.fchmodat(Linux.procDirFd(), Linux.procPath(fd), in.mode & 07777, 0);
            } else if (in.has(SetattrIn.FATTR_KILL_SUIDGID)) {
                killSuidGid(fd, s.statx);
            }
            if (in.has(SetattrIn.FATTR_UID) || in.has(SetattrIn.FATTR_GID)) {
                int uid = in.has(SetattrIn.FATTR_UID) ? features.uids().toHost(in.uid) : -1;
                int gid = in.has(SetattrIn.FATTR_GID) ? features.gids().toHost(in.gid) : -1;
                xattrNames.dropMappedCapability(Linux.procPath(fd));
                Linux.fchownat(fd, Linux.EMPTY_PATH, uid, gid, Linux.AT_EMPTY_PATH | Linux.AT_SYMLINK_NOFOLLOW);
            }
            if (in.has(SetattrIn.FATTR_SIZE)) {
                xattrNames.dropMappedCapability(Linux.procPath(fd));
                if (f != null) {
                    Linux.ftruncate(f.fd, in.size);
                } else {
                    int w = i.openForIo(Linux.O_WRONLY | Linux.O_NONBLOCK);
                    try {
                        Linux.ftruncate(w, in.size);
                    } finally {
                        Linux.close(w);
                    }
                }
            }
            int timeBits = SetattrIn.FATTR_ATIME
                    | SetattrIn.FATTR_MTIME
                    | SetattrIn.FATTR_ATIME_NOW
                    | SetattrIn.FATTR_MTIME_NOW;
            if ((in.valid & timeBits) != 0) {
                long t = s.mem;
                if (in.has(SetattrIn.FATTR_ATIME_NOW)) {
                    NativeMemory.putLong(t, 0);
                    NativeMemory.putLong(t + 8, UTIME_NOW);
                } else if (in.has(SetattrIn.FATTR_ATIME)) {
                    NativeMemory.putLong(t, in.atime);
                    NativeMemory.putLong(t + 8, in.atimensec);
                } else {
                    NativeMemory.putLong(t, 0);
                    NativeMemory.putLong(t + 8, UTIME_OMIT);
                }
                if (in.has(SetattrIn.FATTR_MTIME_NOW)) {
                    NativeMemory.putLong(t + 16, 0);
                    NativeMemory.putLong(t + 24, UTIME_NOW);
                } else if (in.has(SetattrIn.FATTR_MTIME)) {
                    NativeMemory.putLong(t + 16, in.mtime);
                    NativeMemory.putLong(t + 24, in.mtimensec);
                } else {
                    NativeMemory.putLong(t + 16, 0);
                    NativeMemory.putLong(t + 24, UTIME_OMIT);
                }
                // The /proc path reaches the inode itself, a symlink too (it is not followed further).
                Linux.utimensat(Linux.procDirFd(), Linux.procPath(fd), t, 0);
            }
            s.statx.ofFd(fd);
        }
        fillAttr(out.attr, s.statx);
        out.attrTimeoutNanos = timeout;
    }

    /** Clears setuid, and setgid when group-executable (as the kernel's should_remove_suid does). */
    private static void killSuidGid(int pathFd, Statx st) throws ErrnoException {
        st.ofFd(pathFd);
        int mode = st.mode();
        if ((mode & Linux.S_IFMT) != Linux.S_IFREG) {
            return;
        }
        int kill = mode & Linux.S_ISUID;
        if ((mode & (Linux.S_ISGID | 010)) == (Linux.S_ISGID | 010)) {
            kill |= Linux.S_ISGID;
        }
        if (kill != 0) {
            Linux.fchmodat(Linux.procDirFd(), Linux.procPath(pathFd), mode & 07777 & ~kill, 0);
        }
    }

    @Override
    public int readlink(RequestContext ctx, long nodeId, long buffer, int capacity) throws ErrnoException {
        try (InodeUse u = use(nodeId)) {
            return Linux.readlinkat(u.pathFd(), Linux.EMPTY_PATH, buffer, capacity);
        }
    }

    /** The creation ops: what runs under the caller's credentials. */
    private interface Creation {
        void run(int parentFd) throws ErrnoException;
    }

    /** No umask: symlinks have none, and without POSIX ACLs the guest kernel applied it already. */
    private static final int NO_UMASK = -1;

    private Inode create(RequestContext ctx, long parent, long name, EntryOut out, Creation op) throws ErrnoException {
        return create(ctx, parent, name, NO_UMASK, false, out, op);
    }

    /**
     * Runs {@code op} in {@code parent} under the caller's credentials (and, with POSIX ACLs, its
     * umask: the host kernel then applies it only where the parent has no default ACL, as virtiofsd
     * does), sets the security context the guest sent (the new entry is removed again if that
     * fails), and looks the new entry up: returned with a reference for the caller.
     */
    @SuppressWarnings("try") // the credential scope is what the try is for
    private Inode create(RequestContext ctx, long parent, long name, int umask, boolean dir, EntryOut out, Creation op)
            throws ErrnoException {
        checkWritable();
        try (InodeUse p = use(parent)) {
            int pfd = p.pathFd();
            try (CallerCredentials c = asCaller(ctx, umask != NO_UMASK, umask)) {
                op.run(pfd);
            }
            if (ctx.hasSecctx() && features.securityLabel()) {
                setSecurityContext(ctx, pfd, name, dir);
            }
            return lookupIn(p.inode(), pfd, name, out);
        }
    }

    /** FUSE_SECURITY_CTX: the label goes on the new inode under its (mapped) name, as root. */
    private void setSecurityContext(RequestContext ctx, int pfd, long name, boolean dir) throws ErrnoException {
        try {
            long hostName = xattrNames.client(ctx.secctxName, aclOn);
            int fd = Linux.openat(pfd, name, Linux.O_PATH | Linux.O_NOFOLLOW, 0);
            try {
                Linux.pathSetxattr(Linux.procPath(fd), hostName, ctx.secctxValue, ctx.secctxSize, 0);
            } finally {
                Linux.close(fd);
            }
        } catch (ErrnoException e) {
            try {
                Linux.unlinkat(pfd, name, dir ? Linux.AT_REMOVEDIR : 0);
            } catch (ErrnoException ignored) {
                // the entry is gone already, or was replaced: nothing of ours to remove
            }
            throw e;
        }
    }

    @Override
    public void symlink(RequestContext ctx, long parent, long name, long target, EntryOut out) throws ErrnoException {
        create(ctx, parent, name, out, pfd -> Linux.symlinkat(target, pfd, name))
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
            lookupIn(np.inode(), npfd, newName, out).release();
        }
    }

    private static boolean writes(int flags) {
        return (flags & Linux.O_ACCMODE) != Linux.O_RDONLY || (flags & (Linux.O_TRUNC | Linux.O_APPEND)) != 0;
    }

    /** The bit of O_TMPFILE that is not O_DIRECTORY. */
    private static final int O_TMPFILE_BIT = Linux.O_TMPFILE & ~Linux.O_DIRECTORY;

    /**
     * Open flags for the host, as virtiofsd: no O_CREAT/O_EXCL/O_NOCTTY (the file exists); never
     * O_PATH (an fh must be usable for I/O) nor O_TMPFILE (OPEN must not create anything); no
     * O_DIRECT unless --allow-direct-io (the guest's direct I/O need not bypass the host page
     * cache); no O_NOATIME unless --preserve-noatime (it fails for files the caller does not own
     * when unprivileged); with the writeback cache, write-only becomes read-write (the guest kernel
     * reads to fill its pages) and O_APPEND is dropped (the guest computes the offsets).
     */
    private int openFlags(int flags) {
        int f = flags & ~(Linux.O_CREAT | Linux.O_EXCL | Linux.O_NOCTTY | Linux.O_PATH | O_TMPFILE_BIT);
        if (!features.allowDirectIo()) {
            f &= ~Linux.O_DIRECT;
        }
        if (!features.preserveNoatime()) {
            f &= ~Linux.O_NOATIME;
        }
        if (writebackOn) {
            if ((f & Linux.O_ACCMODE) == Linux.O_WRONLY) {
                f = (f & ~Linux.O_ACCMODE) | Linux.O_RDWR;
            }
            f &= ~Linux.O_APPEND;
        }
        return f;
    }

    /**
     * FUSE_OPEN_KILL_SUIDGID (killpriv_v2): a truncating open by a caller without CAP_FSETID clears
     * setuid/setgid, which our own truncate as root would not do.
     */
    private void killPrivOnOpen(RequestContext ctx, InodeUse u, int flags) throws ErrnoException {
        if (!features.killprivV2() || !ctx.killSuidGid || (flags & Linux.O_TRUNC) == 0) {
            return;
        }
        killSuidGid(u.pathFd(), ThreadScratch.get().statx);
    }

    private int fileOpenFlags() {
        switch (options.cacheMode()) {
            case NEVER:
            case METADATA:
                return OpenOut.DIRECT_IO;
            case ALWAYS:
                return OpenOut.KEEP_CACHE;
            default:
                return 0;
        }
    }

    private int dirOpenFlags() {
        switch (options.cacheMode()) {
            case METADATA:
            case ALWAYS:
                return OpenOut.CACHE_DIR;
            default:
                return 0;
        }
    }

    @Override
    public void open(RequestContext ctx, long nodeId, int flags, OpenOut out) throws ErrnoException {
        if (options.readonly() && writes(flags)) {
            throw ErrnoException.of(EROFS);
        }
        try (InodeUse u = use(nodeId)) {
            Inode i = u.inode();
            int oflags = openFlags(flags);
            if (!i.isOpenable()) {
                throw ErrnoException.of(EBADF); // before killpriv touches anything (openForIo checks too)
            }
            killPrivOnOpen(ctx, u, flags);
            int fd = i.openForIo(oflags);
            if ((flags & Linux.O_TRUNC) != 0) {
                try {
                    xattrNames.dropMappedCapability(Linux.procPath(fd));
                } catch (RuntimeException e) {
                    Linux.close(fd);
                    throw e;
                }
            }
            i.retain(); // the open file's
            out.fh = register(new OpenFile(i, fd));
        }
        out.openFlags = fileOpenFlags();
    }

    @Override
    public void create(
            RequestContext ctx, long parent, long name, int mode, int flags, int umask, EntryOut entry, OpenOut open)
            throws ErrnoException {
        int[] fd = {-1};
        int oflags = openFlags(flags) | Linux.O_CREAT | Linux.O_NOFOLLOW;
        boolean exclusive = (flags & Linux.O_EXCL) != 0;
        if (features.killprivV2() && ctx.killSuidGid && (flags & Linux.O_TRUNC) != 0 && !exclusive) {
            // an existing file is truncated: clear setuid/setgid first (the open runs as the caller,
            // but with the fsuid of the owner the host kernel would keep them); killSuidGid touches
            // regular files only
            try (InodeUse p = use(parent)) {
                int e = Linux.openat(p.pathFd(), name, Linux.O_PATH | Linux.O_NOFOLLOW, 0);
                try {
                    killSuidGid(e, ThreadScratch.get().statx);
                } finally {
                    Linux.close(e);
                }
            } catch (ErrnoException e) {
                // no such file yet (or no such parent: the create below answers): nothing to clear
            }
        }
        Inode inode;
        try {
            inode = create(
                    ctx,
                    parent,
                    name,
                    umask,
                    false,
                    entry,
                    pfd -> fd[0] = createOrOpen(pfd, name, oflags, mode, exclusive));
        } catch (ErrnoException | RuntimeException e) {
            Linux.close(fd[0]);
            throw e;
        }
        open.fh = register(new OpenFile(inode, fd[0]));
        open.openFlags = fileOpenFlags();
    }

    /**
     * CREATE: makes the file with O_EXCL, so that it is never an existing device or FIFO that gets
     * opened. When the name exists and the guest did not ask for O_EXCL, the existing inode is opened
     * only if it is a regular file (through an O_PATH fd that pins it, so no rename can swap it);
     * a directory answers EISDIR (as open(2) does), anything else (symlinks too) EBADF, as OPEN does
     * and as Rust virtiofsd answers.
     */
    private static int createOrOpen(int pfd, long name, int oflags, int mode, boolean exclusive) throws ErrnoException {
        try {
            return Linux.openat(pfd, name, oflags | Linux.O_EXCL, mode);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EEXIST || exclusive) {
                throw e;
            }
        }
        int path = Linux.openat(pfd, name, Linux.O_PATH | Linux.O_NOFOLLOW, 0);
        try {
            Statx st = ThreadScratch.get().statx;
            st.ofFd(path);
            switch (st.mode() & Linux.S_IFMT) {
                case Linux.S_IFREG:
                    return Linux.reopen(path, oflags & ~Linux.O_CREAT);
                case Linux.S_IFDIR:
                    throw ErrnoException.of(Errno.EISDIR);
                default:
                    throw ErrnoException.of(EBADF);
            }
        } finally {
            Linux.close(path);
        }
    }

    @Override
    @SuppressWarnings("try") // the credential scope is what the try is for
    public void tmpfile(RequestContext ctx, long parent, int mode, int flags, int umask, EntryOut entry, OpenOut open)
            throws ErrnoException {
        checkWritable();
        Inode inode;
        int fd;
        try (InodeUse p = use(parent)) {
            int pfd = p.pathFd();
            try (CallerCredentials c = asCaller(ctx, true, umask)) {
                fd = Linux.openat(pfd, DOT, (openFlags(flags) & ~Linux.O_DIRECTORY) | Linux.O_TMPFILE, mode);
            }
            if (ctx.hasSecctx() && features.securityLabel()) {
                try {
                    Linux.fsetxattr(fd, xattrNames.client(ctx.secctxName, aclOn), ctx.secctxValue, ctx.secctxSize, 0);
                } catch (ErrnoException e) {
                    Linux.close(fd);
                    throw e;
                }
            }
            try {
                inode = insert(p.inode(), Linux.reopen(fd, Linux.O_PATH), entry);
            } catch (ErrnoException | RuntimeException e) {
                Linux.close(fd);
                throw e;
            }
        }
        open.fh = register(new OpenFile(inode, fd));
        open.openFlags = fileOpenFlags();
    }

    @Override
    public int read(RequestContext ctx, long nodeId, long fh, long offset, int size, SegmentList dst)
            throws ErrnoException {
        try (OpenFile f = file(nodeId, fh)) {
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
        try (OpenFile f = file(nodeId, fh)) {
            if (killPriv) {
                // Before the data lands: a setuid file must never hold the caller's bytes and keep its bit.
                Statx st = ThreadScratch.get().statx;
                st.ofFd(f.fd);
                if ((st.mode() & (Linux.S_ISUID | Linux.S_ISGID)) != 0) {
                    try (InodeUse u = use(f.inode)) {
                        killSuidGid(u.pathFd(), st);
                    }
                }
            }
            xattrNames.dropMappedCapabilityFd(f.fd);
            return Linux.pwritev(f.fd, src, offset);
        }
    }

    @Override
    public void flush(RequestContext ctx, long nodeId, long fh, long lockOwner) throws ErrnoException {
        try (OpenFile f = file(nodeId, fh)) {
            // Releases this owner's POSIX locks, as C virtiofsd's lo_flush does.
            f.inode.dropPlock(lockOwner);
            // Closing a dup makes the host filesystem see a flush (NFS, FUSE), like virtiofsd.
            Linux.close(Linux.dup(f.fd));
        }
    }

    @Override
    public void release(RequestContext ctx, long nodeId, long fh, int flags, long lockOwner, boolean flockRelease)
            throws ErrnoException {
        OpenFile f = files.get(fh);
        if (f == null || f.inode.nodeId != nodeId || f instanceof OpenFile.Dir) {
            throw ErrnoException.of(EBADF);
        }
        if (files.remove(fh, f)) {
            f.dropLocks();
            f.close(); // the fh map's reference: requests still using it keep the fd until they are done
        }
    }

    @Override
    public void fsync(RequestContext ctx, long nodeId, long fh, boolean datasync) throws ErrnoException {
        try (OpenFile f = file(nodeId, fh)) {
            sync(f.fd, datasync);
        }
    }

    private static void sync(int fd, boolean datasync) throws ErrnoException {
        if (datasync) {
            Linux.fdatasync(fd);
        } else {
            Linux.fsync(fd);
        }
    }

    @Override
    public void opendir(RequestContext ctx, long nodeId, int flags, OpenOut out) throws ErrnoException {
        try (InodeUse u = use(nodeId)) {
            Inode i = u.inode();
            int fd = i.openForIo(Linux.O_RDONLY | Linux.O_DIRECTORY);
            OpenFile.Dir d;
            try {
                i.retain(); // the open directory's
                d = new OpenFile.Dir(i, fd);
            } catch (RuntimeException | Error e) {
                Linux.close(fd);
                i.release();
                throw e;
            }
            out.fh = register(d);
        }
        out.openFlags = dirOpenFlags();
    }

    @Override
    public void readdir(RequestContext ctx, long nodeId, long fh, long offset, DirSink sink) throws ErrnoException {
        boolean plus = sink.plus();
        try (OpenFile.Dir d = dir(nodeId, fh);
                InodeUse dirUse = plus ? use(d.inode) : null) {
            listing.fill(d, plus ? dirUse.pathFd() : -1, offset, sink);
        }
    }

    @Override
    public void releasedir(RequestContext ctx, long nodeId, long fh) throws ErrnoException {
        OpenFile f = files.get(fh);
        if (!(f instanceof OpenFile.Dir) || f.inode.nodeId != nodeId) {
            throw ErrnoException.of(EBADF);
        }
        if (files.remove(fh, f)) {
            f.close(); // the fh map's reference
        }
    }

    @Override
    public void fsyncdir(RequestContext ctx, long nodeId, long fh, boolean datasync) throws ErrnoException {
        try (OpenFile.Dir d = dir(nodeId, fh)) {
            sync(d.fd, datasync);
        }
    }

    @Override
    public void statfs(RequestContext ctx, long nodeId, StatfsOut out) throws ErrnoException {
        long b = ThreadScratch.get().mem;
        try (InodeUse u = use(nodeId)) {
            Linux.fstatvfs(u.pathFd(), b);
        }
        // struct statvfs (x86-64, aarch64): bsize, frsize, blocks, bfree, bavail, files, ffree, favail,
        // fsid, flag, namemax: unsigned longs.
        out.bsize = (int) NativeMemory.getLong(b);
        out.frsize = (int) NativeMemory.getLong(b + 8);
        out.blocks = NativeMemory.getLong(b + 16);
        out.bfree = NativeMemory.getLong(b + 24);
        out.bavail = NativeMemory.getLong(b + 32);
        out.files = NativeMemory.getLong(b + 40);
        out.ffree = NativeMemory.getLong(b + 48);
        out.namelen = (int) NativeMemory.getLong(b + 80);
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
            xattrs.set(ctx, u.pathFd(), xattrName, value, size, flags, aclOn);
        }
    }

    @Override
    public int getxattr(RequestContext ctx, long nodeId, long xattrName, long buffer, int capacity)
            throws ErrnoException {
        checkXattr();
        try (InodeUse u = use(nodeId)) {
            return xattrs.get(u.pathFd(), xattrName, buffer, capacity, aclOn);
        }
    }

    @Override
    public int listxattr(RequestContext ctx, long nodeId, long buffer, int capacity) throws ErrnoException {
        checkXattr();
        boolean acl = aclOn;
        try (InodeUse u = use(nodeId)) {
            return xattrs.list(u.pathFd(), buffer, capacity, acl);
        }
    }

    @Override
    public void removexattr(RequestContext ctx, long nodeId, long xattrName) throws ErrnoException {
        checkXattr();
        checkWritable();
        try (InodeUse u = use(nodeId)) {
            xattrs.remove(u.pathFd(), xattrName, aclOn);
        }
    }

    @Override
    public void fallocate(RequestContext ctx, long nodeId, long fh, int mode, long offset, long length)
            throws ErrnoException {
        checkWritable();
        try (OpenFile f = file(nodeId, fh)) {
            Linux.fallocate(f.fd, mode, offset, length);
        }
    }

    @Override
    public long lseek(RequestContext ctx, long nodeId, long fh, long offset, int whence) throws ErrnoException {
        try (OpenFile f = file(nodeId, fh)) {
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
        try (OpenFile in = file(nodeIn, fhIn);
                OpenFile out = file(nodeOut, fhOut)) {
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
            try (OpenFile f = file(nodeId, fh)) {
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
        return files;
    }
}
