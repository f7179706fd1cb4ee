package dev.virtiofsd.passthrough.internal;

import static dev.virtiofsd.api.Errno.EACCES;

import dev.virtiofsd.api.ErrnoException;

/**
 * FUSE ACCESS without default_permissions: whether a caller may read, write or execute a file, by
 * its mode bits and owner, with the same rules as Rust virtiofsd (root may read and write
 * anything, and execute what anyone may). ACLs are not consulted, as there.
 */
final class AccessRules {
    static final int R_OK = 4;
    static final int W_OK = 2;
    static final int X_OK = 1;

    private AccessRules() {}

    /**
     * EACCES unless (host) {@code uid}/{@code gid} may do all of {@code mask} (R_OK, W_OK, X_OK; other
     * bits ignored) on a file of {@code mode} owned by {@code fileUid}/{@code fileGid}.
     */
    static void check(int mode, int fileUid, int fileGid, int uid, int gid, int mask) throws ErrnoException {
        int want = mask & (R_OK | W_OK | X_OK);
        if (want == 0) {
            return;
        }
        boolean owner = fileUid == uid;
        boolean group = fileGid == gid;
        if ((want & R_OK) != 0
                && uid != 0
                && !(owner && (mode & 0400) != 0)
                && !(group && (mode & 040) != 0)
                && (mode & 04) == 0) {
            throw ErrnoException.of(EACCES);
        }
        if ((want & W_OK) != 0
                && uid != 0
                && !(owner && (mode & 0200) != 0)
                && !(group && (mode & 020) != 0)
                && (mode & 02) == 0) {
            throw ErrnoException.of(EACCES);
        }
        if ((want & X_OK) != 0
                && (uid != 0 || (mode & 0111) == 0)
                && !(owner && (mode & 0100) != 0)
                && !(group && (mode & 010) != 0)
                && (mode & 01) == 0) {
            throw ErrnoException.of(EACCES);
        }
    }
}
