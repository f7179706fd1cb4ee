package dev.virtiofsd.strategy.handle.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.FileHandle;
import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.linux.Accounts;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.ProcFiles;
import dev.virtiofsd.linux.Statx;
import dev.virtiofsd.strategy.fd.PathFdIdentity;
import java.io.IOException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The per-share state of both handle strategies: the mount-id -> mount-fd map and the error policy.
 *
 * <p>Handles come from {@code name_to_handle_at(fd, "", AT_EMPTY_PATH)}. EOPNOTSUPP (no export ops)
 * and EOVERFLOW with a returned size not larger than ours ("no handle for this inode") are permanent
 * for the inode; so is a missing mount fd (special file first seen on its mount, no permission to
 * open). For those, "prefer" keeps the O_PATH fd it was given and "mandatory" answers the errno,
 * logging one warning per mount. Any other errno goes to the guest under both.
 */
public final class HandleIdentityProvider implements IdentityProvider {
    private static final Logger LOG = LoggerFactory.getLogger(HandleIdentityProvider.class);

    private final boolean mandatory;
    private final String option;
    /** False when "prefer" found handles unusable at start (no CAP_DAC_READ_SEARCH): fd-only. */
    private volatile boolean handles;

    /** Mount fds by mount id; an entry leaves with the last identity on its mount (see {@link MountFd}). */
    private final ConcurrentHashMap<Long, MountFd> mountFds = new ConcurrentHashMap<>();
    /**
     * Mounts whose filesystem has no file handles (name_to_handle_at said EOPNOTSUPP): not asked
     * again on every LOOKUP there. Keyed by mount id; the kernel may give a freed id to a later
     * mount, which then falls back too ("prefer": an O_PATH fd, which is always correct).
     */
    private final Set<Long> noHandleMounts = ConcurrentHashMap.newKeySet();
    /** The shared directory's mount fd, held by the provider until {@link #close()}. */
    private volatile MountFd sharedMount;
    /** Mounts on which "mandatory" already logged its refusal. */
    private final Set<Long> refusedMounts = ConcurrentHashMap.newKeySet();
    /** Mounts on which "prefer" already logged (at debug) that it falls back. */
    private final Set<Long> fallbackMounts = ConcurrentHashMap.newKeySet();

    private HandleIdentityProvider(boolean mandatory) {
        this.mandatory = mandatory;
        this.option = "--inode-file-handles=" + (mandatory ? "mandatory" : "prefer");
    }

    /** Opens a provider for the share whose root is {@code rootFd}, checking the capability for real. */
    static HandleIdentityProvider open(int rootFd, boolean mandatory) throws ErrnoException {
        return open(rootFd, mandatory, Accounts.hasCapability(Accounts.CAP_DAC_READ_SEARCH));
    }

    /**
     * As {@link #open(int, boolean)} with the capability check's answer given ({@code false} lets a
     * test see the no-capability policy while running as root). With {@code true} the handle
     * round trip on the root is still probed.
     */
    static HandleIdentityProvider open(int rootFd, boolean mandatory, boolean capability) throws ErrnoException {
        HandleIdentityProvider p = new HandleIdentityProvider(mandatory);
        try {
            p.start(rootFd, capability);
            return p;
        } catch (RuntimeException | ErrnoException e) {
            p.close();
            throw e;
        }
    }

    private void start(int rootFd, boolean capability) throws ErrnoException {
        long rootMount;
        int rootMode;
        try (Statx sx = new Statx()) {
            sx.ofFd(rootFd);
            rootMount = sx.mountIdOf(rootFd);
            rootMode = sx.mode();
        }
        if (!capability) {
            unusable("needs CAP_DAC_READ_SEARCH (for open_by_handle_at), which this process lacks");
            return;
        }
        // The capability bit alone can lie (user namespaces): try a real round trip on the root.
        FileHandle rootHandle;
        try {
            rootHandle = makeHandle(rootFd, rootMount);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EOPNOTSUPP || e.errno() == Errno.EOVERFLOW) {
                if (mandatory) {
                    throw new IllegalStateException(option + ": the shared directory's filesystem ("
                            + describeMount(rootMount) + ") gives no file handles (" + Errno.name(e.errno())
                            + "); use --inode-file-handles=prefer or never");
                }
                LOG.info(
                        "{}: the shared directory's filesystem ({}) gives no file handles; its inodes are held"
                                + " by O_PATH fds",
                        option,
                        describeMount(rootMount));
                noHandleMounts.add(rootMount);
                handles = true; // submounts may still have them
                return;
            }
            throw e;
        }
        MountFd mount;
        try {
            mount = mountFdFor(rootFd, rootMount, rootMode);
        } catch (ErrnoException e) {
            mount = null;
        }
        if (mount == null) {
            unusable("cannot open the shared directory for open_by_handle_at");
            return;
        }
        try {
            int probe = openByHandle(mount.fd, rootHandle, Linux.O_PATH);
            Linux.close(probe);
        } catch (ErrnoException e) {
            mount.release();
            if (e.errno() == Errno.EPERM) {
                unusable("needs CAP_DAC_READ_SEARCH (open_by_handle_at said EPERM)");
            } else {
                unusable("cannot reopen the shared directory by its file handle (" + Errno.name(e.errno()) + ")");
            }
            return;
        }
        // The provider keeps the shared directory's mount fd (a directory fd: it pins no file the guest
        // might unlink); submounts' fds live only as long as inodes on them.
        sharedMount = mount;
        handles = true;
        LOG.debug("{}: file handles usable on {}", option, describeMount(rootMount));
    }

    /** Handles cannot work at all here: "mandatory" refuses to start, "prefer" warns once and runs fd-only. */
    private void unusable(String why) {
        if (mandatory) {
            throw new IllegalStateException(
                    option + " " + why + "; run as root with it, or use" + " --inode-file-handles=prefer or never");
        }
        LOG.warn("{} {}: running fd-only (one O_PATH fd per inode)", option, why);
        handles = false;
    }

    /** Whether this provider makes handle identities at all (false: "prefer" fell back to fd-only). */
    boolean handlesEnabled() {
        return handles;
    }

    @Override
    public InodeIdentity identify(int pathFd, long mountId, int mode) throws ErrnoException {
        if (!handles) {
            return new PathFdIdentity(pathFd);
        }
        if (noHandleMounts.contains(mountId)) {
            return noHandle(pathFd, mountId, Errno.EOPNOTSUPP, "the filesystem has no file handle support");
        }
        FileHandle handle;
        try {
            handle = makeHandle(pathFd, mountId);
        } catch (ErrnoException e) {
            int errno = e.errno();
            if (errno == Errno.EOPNOTSUPP) {
                noHandleMounts.add(mountId);
                return noHandle(pathFd, mountId, errno, "the filesystem has no file handle support");
            }
            if (errno == Errno.EOVERFLOW) {
                return noHandle(pathFd, mountId, errno, "the filesystem gives no file handle for some inodes");
            }
            Linux.close(pathFd);
            throw e;
        }
        MountFd mount;
        int errno;
        try {
            mount = mountFdFor(pathFd, mountId, mode);
            errno = Errno.EOPNOTSUPP;
        } catch (ErrnoException e) {
            mount = null;
            errno = e.errno();
        }
        if (mount == null) {
            return noHandle(
                    pathFd,
                    mountId,
                    errno,
                    "no mount fd can be opened (first inode seen on it is " + fileType(mode) + ")");
        }
        Linux.close(pathFd);
        return new HandleIdentity(handle, mount);
    }

    private InodeIdentity noHandle(int pathFd, long mountId, int errno, String why) throws ErrnoException {
        if (!mandatory) {
            if (fallbackMounts.add(mountId) && LOG.isDebugEnabled()) {
                LOG.debug("{}: {} on {}; falling back to O_PATH fds there", option, why, describeMount(mountId));
            }
            return new PathFdIdentity(pathFd);
        }
        Linux.close(pathFd);
        if (refusedMounts.add(mountId)) {
            LOG.warn(
                    "{}: {} on {}; its inodes answer {} to the guest",
                    option,
                    why,
                    describeMount(mountId),
                    Errno.name(errno));
        }
        throw ErrnoException.of(errno);
    }

    /**
     * The mount fd for {@code mountId} with a reference for the caller, opening one by reopening
     * {@code pathFd} O_RDONLY if no inode on the mount holds one now. Null if this inode cannot give
     * one (not a regular file or directory, or on another mount than expected); throws the reopen
     * errno (EACCES...).
     */
    private MountFd mountFdFor(int pathFd, long mountId, int mode) throws ErrnoException {
        MountFd known = retainListed(mountId);
        if (known != null) {
            return known;
        }
        int type = mode & Linux.S_IFMT;
        if (type != Linux.S_IFREG && type != Linux.S_IFDIR) {
            return null; // opening a device or fifo may block or have side effects
        }
        int flags = Linux.O_RDONLY | Linux.O_NONBLOCK | (type == Linux.S_IFDIR ? Linux.O_DIRECTORY : 0);
        int fd = Linux.reopen(pathFd, flags);
        try (Statx sx = new Statx()) {
            sx.ofFd(fd);
            if (sx.mountIdOf(fd) != mountId) {
                Linux.close(fd);
                return null;
            }
        } catch (ErrnoException e) {
            Linux.close(fd);
            throw e;
        }
        // No lock across the syscalls above: whoever loses the race closes its fd.
        MountFd mine = new MountFd(mountId, fd, mountFds);
        while (true) {
            MountFd raced = mountFds.putIfAbsent(mountId, mine);
            if (raced == null) {
                LOG.debug("{}: mount fd {} for {}", option, fd, mountId);
                return mine;
            }
            if (raced.tryRetain()) {
                Linux.close(fd);
                return raced;
            }
            mountFds.remove(mountId, raced); // its last user is closing it
        }
    }

    /** The listed mount fd of {@code mountId} with a reference taken, or null. */
    private MountFd retainListed(long mountId) {
        while (true) {
            MountFd m = mountFds.get(mountId);
            if (m == null) {
                return null;
            }
            if (m.tryRetain()) {
                return m;
            }
            mountFds.remove(mountId, m); // its last user is closing it
        }
    }

    /**
     * name_to_handle_at with a MAX_HANDLE_SZ buffer, retried once with the size the kernel asks for.
     * Throws EOVERFLOW when there is no handle for the inode (or it is still too small).
     */
    static FileHandle makeHandle(int pathFd, long mountId) throws ErrnoException {
        HandleScratch s = HandleScratch.get();
        long fh = s.fileHandle(Linux.MAX_HANDLE_SZ);
        NativeMemory.putInt(fh, Linux.MAX_HANDLE_SZ);
        NativeMemory.putInt(fh + 4, 0);
        try {
            Linux.nameToHandleAt(pathFd, Linux.EMPTY_PATH, fh, s.mountIdOut(), Linux.AT_EMPTY_PATH);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EOVERFLOW) {
                throw e;
            }
            int wanted = HandleScratch.handleBytes(fh);
            if (wanted <= Linux.MAX_HANDLE_SZ) {
                throw e; // "no handle available" for this inode
            }
            fh = s.fileHandle(wanted);
            NativeMemory.putInt(fh, wanted);
            NativeMemory.putInt(fh + 4, 0);
            Linux.nameToHandleAt(pathFd, Linux.EMPTY_PATH, fh, s.mountIdOut(), Linux.AT_EMPTY_PATH);
        }
        return new FileHandle(mountId, HandleScratch.handleType(fh), HandleScratch.bytes(fh));
    }

    static int openByHandle(int mountFd, FileHandle handle, int flags) throws ErrnoException {
        byte[] bytes = handle.bytes();
        long fh = HandleScratch.get().fileHandle(bytes.length);
        HandleScratch.write(fh, handle.type(), bytes);
        return Linux.openByHandleAt(mountFd, fh, flags);
    }

    @Override
    public int heldFds() {
        return mountFds.size();
    }

    /** Mount ids known to give no file handles (for tests and introspection). */
    Set<Long> mountsWithoutHandles() {
        return Set.copyOf(noHandleMounts);
    }

    /** Mount ids with a mount fd (for tests and introspection). */
    Set<Long> mountIds() {
        return Set.copyOf(mountFds.keySet());
    }

    @Override
    public void close() {
        // The identities still alive hold their mount fds; the last of each closes it.
        MountFd m = sharedMount;
        sharedMount = null;
        if (m != null) {
            m.release();
        }
    }

    private static String fileType(int mode) {
        switch (mode & Linux.S_IFMT) {
            case Linux.S_IFREG:
                return "a regular file";
            case Linux.S_IFDIR:
                return "a directory";
            case Linux.S_IFLNK:
                return "a symlink";
            case Linux.S_IFCHR:
                return "a character device";
            case Linux.S_IFBLK:
                return "a block device";
            case Linux.S_IFIFO:
                return "a fifo";
            case Linux.S_IFSOCK:
                return "a socket";
            default:
                return "of unknown type";
        }
    }

    /** "mount 42 (fuse on /srv/x)" from /proc/self/mountinfo; only on rare paths (start, once per mount). */
    static String describeMount(long mountId) {
        String prefix = mountId + " ";
        try {
            for (String line : ProcFiles.mountinfo()) {
                if (line.startsWith(prefix)) {
                    String[] f = line.split(" ", -1);
                    int dash = line.indexOf(" - ");
                    String type = dash < 0 ? "?" : line.substring(dash + 3).split(" ", -1)[0];
                    return "mount " + mountId + " (" + type + " on " + (f.length > 4 ? f[4] : "?") + ")";
                }
            }
        } catch (IOException | RuntimeException e) {
            // best effort: the id alone still names the mount
        }
        return "mount " + mountId;
    }

    @Override
    public String toString() {
        return "HandleIdentityProvider[" + option + ", handles=" + handles + ", mounts=" + mountFds.keySet() + "]";
    }
}
