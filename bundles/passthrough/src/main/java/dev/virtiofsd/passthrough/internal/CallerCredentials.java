package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;

/**
 * The caller's fsuid/fsgid, and with POSIX ACLs its umask, on this thread for the length of one
 * creation: {@code try (CallerCredentials c = CallerCredentials.enter(...))}; {@link #close()}
 * takes back root's and the daemon's umask of 0. Raw setresuid/setresgid syscalls act per thread,
 * and a thread that has unshared its fs attributes (CLONE_FS) has its own umask, so nothing here is
 * seen by another worker. One instance per thread, reused: nothing is allocated per request.
 */
final class CallerCredentials implements AutoCloseable {
    /** No umask: symlinks have none, and without POSIX ACLs the guest kernel applied it already. */
    static final int NO_UMASK = -1;

    private static final int SWITCHED_GID = 1;
    private static final int SWITCHED_UID = 2;

    /** What {@link #close()} undoes: SWITCHED_* bits. */
    private int switched;
    /** {@link #close()} sets the umask back to 0. */
    private boolean masked;
    /** This thread has its own umask (unshare(CLONE_FS) done), for POSIX ACL creations. */
    private boolean ownUmask;

    CallerCredentials() {}

    /**
     * Takes on {@code uid}/{@code gid} (host ids) when {@code switchIds} (the daemon runs as root),
     * gid first while we still may, then {@code umask} when {@code aclOn} and it is not
     * {@link #NO_UMASK}. On an error nothing stays switched.
     */
    static CallerCredentials enter(boolean switchIds, int uid, int gid, boolean aclOn, int umask)
            throws ErrnoException {
        CallerCredentials c = ThreadScratch.get().credentials;
        c.switched = 0;
        c.masked = false;
        if (switchIds) {
            c.switchIds(uid, gid);
        }
        try {
            if (aclOn && umask != NO_UMASK) {
                c.setUmask(umask);
            }
        } catch (ErrnoException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    private void switchIds(int uid, int gid) throws ErrnoException {
        if (gid != 0) {
            Linux.setresgidThread(-1, gid, -1);
            switched |= SWITCHED_GID;
        }
        if (uid != 0) {
            try {
                Linux.setresuidThread(-1, uid, -1);
            } catch (ErrnoException e) {
                close();
                throw e;
            }
            switched |= SWITCHED_UID;
        }
    }

    private void setUmask(int umask) throws ErrnoException {
        if (!ownUmask) {
            Linux.unshareFs();
            ownUmask = true;
        }
        Linux.umask(umask & 0777);
        masked = true;
    }

    @Override
    public void close() {
        if (masked) {
            Linux.umask(0);
            masked = false;
        }
        int done = switched;
        switched = 0;
        try {
            if ((done & SWITCHED_UID) != 0) {
                Linux.setresuidThread(-1, 0, -1);
            }
            if ((done & SWITCHED_GID) != 0) {
                Linux.setresgidThread(-1, 0, -1);
            }
        } catch (ErrnoException e) {
            // A worker that cannot get its credentials back must not serve another request.
            throw new IllegalStateException("cannot restore thread credentials", e);
        }
    }
}
