package dev.virtiofsd.api.identity;

import dev.virtiofsd.api.ErrnoException;
import org.osgi.annotation.versioning.ConsumerType;

/** A strategy bound to one shared directory; holds per-share state such as mount fds. */
@ConsumerType
public interface IdentityProvider extends AutoCloseable {
    /**
     * Makes the identity of an inode just looked up. The provider takes ownership of {@code pathFd}
     * (an {@code O_PATH|O_NOFOLLOW} fd on it): it keeps it or closes it, also when it throws.
     *
     * @param mountId {@code stx_mnt_id} of the inode
     * @param mode    {@code st_mode} of the inode (its file type matters)
     */
    InodeIdentity identify(int pathFd, long mountId, int mode) throws ErrnoException;

    /** Number of fds the provider itself holds (mount fds), not counting identities. */
    int heldFds();

    /** Closes per-share state; identities already handed out stay usable until closed. */
    @Override
    void close();
}
