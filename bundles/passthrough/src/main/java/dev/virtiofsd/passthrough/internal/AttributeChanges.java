package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.SetattrIn;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.Timespec;

/**
 * SETATTR's changes, in the kernel's order: mode (or killpriv's setuid/setgid clearing), owner,
 * size, then times (utimensat with UTIME_NOW/UTIME_OMIT where the guest asks for now or leaves a
 * time out). A mapped security.capability goes with an owner or size change, as the host kernel
 * would drop a real one.
 */
final class AttributeChanges {
    private static final int TIME_BITS =
            SetattrIn.FATTR_ATIME | SetattrIn.FATTR_MTIME | SetattrIn.FATTR_ATIME_NOW | SetattrIn.FATTR_MTIME_NOW;

    private final PassthroughFeatures features;
    private final XattrNames xattrNames;

    AttributeChanges(PassthroughFeatures features, XattrNames xattrNames) {
        this.features = features;
        this.xattrNames = xattrNames;
    }

    /** Applies {@code in} to the inode {@code u} uses; {@code f} is the open file the guest named, or null. */
    void set(InodeUse u, OpenFile f, SetattrIn in) throws ErrnoException {
        Inode i = u.inode();
        int fd = u.pathFd();
        if (in.has(SetattrIn.FATTR_MODE)) {
            Linux.fchmodat(Linux.procDirFd(), Linux.procPath(fd), in.mode & 07777, 0);
        } else if (in.has(SetattrIn.FATTR_KILL_SUIDGID)) {
            KillPriv.clear(fd);
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
        if ((in.valid & TIME_BITS) != 0) {
            Timespec t = ThreadScratch.get().times;
            if (in.has(SetattrIn.FATTR_ATIME_NOW)) {
                t.set(0, 0, Timespec.UTIME_NOW);
            } else if (in.has(SetattrIn.FATTR_ATIME)) {
                t.set(0, in.atime, in.atimensec);
            } else {
                t.set(0, 0, Timespec.UTIME_OMIT);
            }
            if (in.has(SetattrIn.FATTR_MTIME_NOW)) {
                t.set(1, 0, Timespec.UTIME_NOW);
            } else if (in.has(SetattrIn.FATTR_MTIME)) {
                t.set(1, in.mtime, in.mtimensec);
            } else {
                t.set(1, 0, Timespec.UTIME_OMIT);
            }
            // The /proc path reaches the inode itself, a symlink too (it is not followed further).
            t.utimensat(Linux.procDirFd(), Linux.procPath(fd), 0);
        }
    }
}
