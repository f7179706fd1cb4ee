package dev.virtiofsd.passthrough.internal;

import static dev.virtiofsd.api.Errno.EBADF;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.EntryOut;
import dev.virtiofsd.api.fs.RequestContext;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.Statx;

/**
 * What MKNOD, MKDIR, SYMLINK, CREATE and TMPFILE share: the creation runs under the caller's
 * credentials ({@link CallerCredentials}), the guest's security label goes on the new inode, and
 * the new entry is looked up; CREATE's "never open an existing device" rule; clearing
 * setuid/setgid (killpriv) as the kernel would.
 */
final class EntryCreation {
    /** "." as a native NUL-terminated string, shared read-only by every thread (TMPFILE opens it). */
    private static final long DOT = NativeMemory.allocate(2);

    static {
        NativeMemory.putByte(DOT, (byte) '.');
        NativeMemory.putByte(DOT + 1, (byte) 0);
    }

    private final InodeLookup lookup;
    private final PassthroughFeatures features;
    private final XattrNames xattrNames;
    private final InitNegotiation session;
    /** The daemon runs as root: creations take on the caller's fsuid/fsgid. */
    private final boolean switchCreds;

    EntryCreation(
            InodeLookup lookup,
            PassthroughFeatures features,
            XattrNames xattrNames,
            InitNegotiation session,
            boolean switchCreds) {
        this.lookup = lookup;
        this.features = features;
        this.xattrNames = xattrNames;
        this.session = session;
        this.switchCreds = switchCreds;
    }

    /** The creation ops: what runs under the caller's credentials. */
    interface Creation {
        void run(int parentFd) throws ErrnoException;
    }

    /**
     * Runs {@code op} in {@code p} under the caller's credentials (and, with POSIX ACLs, its
     * umask: the host kernel then applies it only where the parent has no default ACL, as virtiofsd
     * does), sets the security context the guest sent (the new entry is removed again if that
     * fails), and looks the new entry up: returned with a reference for the caller.
     */
    @SuppressWarnings("try") // the credential scope is what the try is for
    Inode create(RequestContext ctx, InodeUse p, long name, int umask, boolean dir, EntryOut out, Creation op)
            throws ErrnoException {
        int pfd = p.pathFd();
        try (CallerCredentials c = asCaller(ctx, umask != CallerCredentials.NO_UMASK, umask)) {
            op.run(pfd);
        }
        if (ctx.hasSecctx() && features.securityLabel()) {
            setSecurityContext(ctx, pfd, name, dir);
        }
        return lookup.lookupIn(p.inode(), pfd, name, out);
    }

    /** FUSE_SECURITY_CTX: the label goes on the new inode under its (mapped) name, as root. */
    private void setSecurityContext(RequestContext ctx, int pfd, long name, boolean dir) throws ErrnoException {
        try {
            long hostName = xattrNames.client(ctx.secctxName, session.acl());
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

    /**
     * The caller's credentials (its ids mapped by --translate-uid/gid first: EPERM for forbidden
     * ones) for one creation; with {@code setUmask} and POSIX ACLs on, its umask too.
     */
    private CallerCredentials asCaller(RequestContext ctx, boolean setUmask, int umask) throws ErrnoException {
        int uid = features.uids().toHost(ctx.uid);
        int gid = features.gids().toHost(ctx.gid);
        return CallerCredentials.enter(switchCreds, uid, gid, setUmask && session.acl(), umask);
    }

    /**
     * TMPFILE: an unnamed file opened with {@code hostFlags} in directory {@code parentFd}, made as
     * the caller (with its umask under POSIX ACLs), with the guest's security label; its fd.
     */
    @SuppressWarnings("try") // the credential scope is what the try is for
    int tmpfile(RequestContext ctx, int parentFd, int hostFlags, int mode, int umask) throws ErrnoException {
        int fd;
        try (CallerCredentials c = asCaller(ctx, true, umask)) {
            fd = Linux.openat(parentFd, DOT, hostFlags | Linux.O_TMPFILE, mode);
        }
        if (ctx.hasSecctx() && features.securityLabel()) {
            try {
                Linux.fsetxattr(
                        fd, xattrNames.client(ctx.secctxName, session.acl()), ctx.secctxValue, ctx.secctxSize, 0);
            } catch (ErrnoException e) {
                Linux.close(fd);
                throw e;
            }
        }
        return fd;
    }

    /**
     * CREATE: makes the file with O_EXCL, so that it is never an existing device or FIFO that gets
     * opened. When the name exists and the guest did not ask for O_EXCL, the existing inode is opened
     * only if it is a regular file (through an O_PATH fd that pins it, so no rename can swap it);
     * a directory answers EISDIR (as open(2) does), anything else (symlinks too) EBADF, as OPEN does
     * and as Rust virtiofsd answers.
     */
    static int createOrOpen(int pfd, long name, int oflags, int mode, boolean exclusive) throws ErrnoException {
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
}
