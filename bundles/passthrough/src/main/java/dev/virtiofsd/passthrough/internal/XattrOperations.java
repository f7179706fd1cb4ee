package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.RequestContext;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.Statx;
import java.nio.charset.StandardCharsets;

/**
 * SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR on an inode's /proc/self/fd path (an O_PATH fd takes
 * no xattr calls), with the guest's names mapped by {@link XattrNames} (--xattrmap, the ACL names
 * refused without POSIX ACLs).
 */
final class XattrOperations {
    private static final byte[] ACL_ACCESS = "system.posix_acl_access\0".getBytes(StandardCharsets.US_ASCII);

    private final XattrNames names;

    XattrOperations(XattrNames names) {
        this.names = names;
    }

    void set(RequestContext ctx, int fd, long xattrName, long value, int size, int flags, boolean aclOn)
            throws ErrnoException {
        long name = names.client(xattrName, aclOn);
        long path = Linux.procPath(fd);
        names.dropMappedCapability(path);
        if (aclOn && (ctx.setxattrFlags & RequestContext.SETXATTR_ACL_KILL_SGID) != 0 && isAccessAcl(name)) {
            // The caller is not in the owning group and lacks CAP_FSETID; we set the ACL as root,
            // so the host kernel would keep setgid: clear it, as virtiofsd does.
            Statx st = ThreadScratch.get().statx;
            st.ofFd(fd);
            if ((st.mode() & Linux.S_ISGID) != 0) {
                Linux.fchmodat(Linux.procDirFd(), path, st.mode() & 07777 & ~Linux.S_ISGID, 0);
                path = Linux.procPath(fd);
            }
        }
        Linux.pathSetxattr(path, name, value, size, flags);
    }

    private static boolean isAccessAcl(long name) {
        for (int k = 0; k < ACL_ACCESS.length; k++) {
            if (NativeMemory.getByte(name + k) != ACL_ACCESS[k]) {
                return false;
            }
        }
        return true;
    }

    int get(int fd, long xattrName, long buffer, int capacity, boolean aclOn) throws ErrnoException {
        long name;
        try {
            name = names.client(xattrName, aclOn);
        } catch (ErrnoException e) {
            // as virtiofsd: a name the map denies reads as absent
            throw e.errno() == Errno.EPERM ? ErrnoException.of(Errno.ENODATA) : e;
        }
        return Linux.pathGetxattr(Linux.procPath(fd), name, capacity == 0 ? 0 : buffer, capacity);
    }

    int list(int fd, long buffer, int capacity, boolean aclOn) throws ErrnoException {
        if (!names.rewritesLists(aclOn)) {
            return Linux.pathListxattr(Linux.procPath(fd), capacity == 0 ? 0 : buffer, capacity);
        }
        // the guest's list differs from the host's (mapped, hidden names): read it all, rewrite it
        long list = names.listBuffer();
        int len = Linux.pathListxattr(Linux.procPath(fd), list, XattrNames.LIST_MAX);
        return names.clientList(len, aclOn, buffer, capacity);
    }

    void remove(int fd, long xattrName, boolean aclOn) throws ErrnoException {
        long name = names.client(xattrName, aclOn);
        Linux.pathRemovexattr(Linux.procPath(fd), name);
    }
}
