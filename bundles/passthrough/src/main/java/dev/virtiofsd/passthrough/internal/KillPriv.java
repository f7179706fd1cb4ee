package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.Statx;

/**
 * killpriv: clearing setuid/setgid where the host kernel would not, because the daemon writes,
 * truncates and sets ACLs as root (FUSE_HANDLE_KILLPRIV_V2: SETATTR's FATTR_KILL_SUIDGID, OPEN and
 * CREATE with O_TRUNC, WRITE with FUSE_WRITE_KILL_SUIDGID).
 */
final class KillPriv {
    private KillPriv() {}

    /** WRITE: a setuid file must never hold the caller's bytes and keep its bit. */
    static void beforeWrite(OpenFile f) throws ErrnoException {
        Statx st = ThreadScratch.get().statx;
        st.ofFd(f.fd);
        if ((st.mode() & (Linux.S_ISUID | Linux.S_ISGID)) != 0) {
            try (InodeUse u = InodeUse.of(f.inode)) {
                clear(u.pathFd());
            }
        }
    }

    /** {@link #clear} of entry {@code name} in directory {@code parentFd}, if it exists. */
    static void clearEntry(int parentFd, long name) throws ErrnoException {
        int e = Linux.openat(parentFd, name, Linux.O_PATH | Linux.O_NOFOLLOW, 0);
        try {
            clear(e);
        } finally {
            Linux.close(e);
        }
    }

    /** Clears setuid, and setgid when group-executable (as the kernel's should_remove_suid does). */
    static void clear(int pathFd) throws ErrnoException {
        Statx st = ThreadScratch.get().statx;
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
}
