package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.FileHandle;
import dev.virtiofsd.api.identity.InodeIdentity;

/**
 * An inode a live migration could not find again on this host (renamed or deleted between source
 * and destination, or found to be another file), kept under {@code --migration-on-error
 * guest-error}: the guest still holds its node id, and every operation on it answers EIO. It holds
 * nothing on the host and is never matched by a lookup.
 */
final class LostIdentity implements InodeIdentity {
    static final String KIND = "lost";

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public FileHandle handle() {
        return null;
    }

    @Override
    public boolean pinsInode() {
        return false;
    }

    @Override
    public int heldFds() {
        return 0;
    }

    @Override
    public int acquirePath() throws ErrnoException {
        throw ErrnoException.of(Errno.EIO);
    }

    @Override
    public void releasePath(int fd) {}

    @Override
    public int open(int flags) throws ErrnoException {
        throw ErrnoException.of(Errno.EIO);
    }

    @Override
    public void close() {}
}
