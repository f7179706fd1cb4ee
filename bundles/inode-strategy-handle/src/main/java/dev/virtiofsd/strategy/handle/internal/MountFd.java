package dev.virtiofsd.strategy.handle.internal;

import dev.virtiofsd.linux.Linux;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A non-O_PATH fd on one mount, the first argument of open_by_handle_at. Reference counted by the
 * handle identities on that mount (and by whoever is setting one up): the last one to go closes the
 * fd and takes the entry out of the provider's map, so the daemon does not keep a host submount
 * busy once the guest has forgotten every inode on it.
 */
final class MountFd {
    final long mountId;
    final int fd;
    private final AtomicInteger refs = new AtomicInteger(1);
    private final ConcurrentHashMap<Long, MountFd> map;

    /** With one reference, for the caller; {@code map} is where it is (to be) listed. */
    MountFd(long mountId, int fd, ConcurrentHashMap<Long, MountFd> map) {
        this.mountId = mountId;
        this.fd = fd;
        this.map = map;
    }

    /** One more reference, unless the last one is already gone (then the fd is closed or closing). */
    boolean tryRetain() {
        while (true) {
            int r = refs.get();
            if (r <= 0) {
                return false;
            }
            if (refs.compareAndSet(r, r + 1)) {
                return true;
            }
        }
    }

    void release() {
        int r = refs.decrementAndGet();
        if (r == 0) {
            map.remove(mountId, this);
            Linux.close(fd);
        } else if (r < 0) {
            throw new IllegalStateException("over-release of " + this);
        }
    }

    @Override
    public String toString() {
        return "mount " + mountId + " fd " + fd;
    }
}
