package dev.virtiofsd.it.identity;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.FileHandle;
import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.strategy.handle.internal.HandleOnlyStrategy;

/**
 * Tests only: the broken design of the first file-handle patch for C virtiofsd (it keyed such
 * inodes by ids). Identities hold no fd (they reopen through a file handle kept
 * privately) and expose no handle to the store; they say so with {@code pinsInode() == false}. A
 * store that keyed them by {@code (ino, dev, mnt_id)} alone would give a new file that took a freed
 * inode number the old inode; the store must honour {@code pinsInode()} and never do that.
 */
final class IdsOnlyStrategy implements InodeIdentityStrategy {
    static final String NAME = "ids-only";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public IdentityProvider open(int rootFd) throws ErrnoException {
        IdentityProvider handles = new HandleOnlyStrategy().open(rootFd);
        return new IdentityProvider() {
            @Override
            public InodeIdentity identify(int pathFd, long mountId, int mode) throws ErrnoException {
                return new IdsOnly(handles.identify(pathFd, mountId, mode));
            }

            @Override
            public int heldFds() {
                return handles.heldFds();
            }

            @Override
            public void close() {
                handles.close();
            }
        };
    }

    private static final class IdsOnly implements InodeIdentity {
        private final InodeIdentity hidden;

        IdsOnly(InodeIdentity hidden) {
            this.hidden = hidden;
        }

        @Override
        public String kind() {
            return NAME;
        }

        @Override
        public FileHandle handle() {
            return null; // the bug: no handle for the store, yet nothing pins the inode
        }

        @Override
        public boolean pinsInode() {
            return false;
        }

        @Override
        public int heldFds() {
            return hidden.heldFds();
        }

        @Override
        public int acquirePath() throws ErrnoException {
            return hidden.acquirePath();
        }

        @Override
        public void releasePath(int fd) {
            hidden.releasePath(fd);
        }

        @Override
        public int open(int flags) throws ErrnoException {
            return hidden.open(flags);
        }

        @Override
        public void close() {
            hidden.close();
        }
    }
}
