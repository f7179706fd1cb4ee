package dev.virtiofsd.strategy.handle.internal;

import dev.virtiofsd.linux.Linux;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A non-O_PATH fd on one mount, the first argument of open_by_handle_at. Reference counted: the
 * provider holds one reference until it closes, every handle identity on the mount holds one, so
 * identities stay usable after their provider is closed.
 */
final class MountFd {
    final long mountId;
    final int fd;
    private final AtomicInteger refs = new AtomicInteger(1);

    MountFd(long mountId, int fd) {
        this.mountId = mountId;
        this.fd = fd;
    }

    MountFd retain() {
        refs.incrementAndGet();
        return this;
    }

    void release() {
        if (refs.decrementAndGet() == 0) {
            Linux.close(fd);
        }
    }

    @Override
    public String toString() {
        return "mount " + mountId + " fd " + fd;
    }
}
