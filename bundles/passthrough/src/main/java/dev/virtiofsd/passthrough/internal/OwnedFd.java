package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.linux.Linux;

/**
 * An fd a request opened for an open file that does not exist yet (CREATE, TMPFILE, OPEN), as a
 * try-with-resources scope: {@link #close()} closes it unless {@link #handOver()} gave it to its
 * owner first, so an error between the open and the {@link OpenFile} cannot leak it.
 *
 * <p>Like {@link CallerCredentials}, one instance per thread, reused: nothing is allocated per
 * request. Requests open at most one such fd, so the scopes do not nest.
 */
final class OwnedFd implements AutoCloseable {
    private int fd = -1;
    private boolean open;

    OwnedFd() {}

    /** This thread's scope, holding no fd yet. */
    static OwnedFd empty() {
        OwnedFd o = ThreadScratch.get().ownedFd;
        if (o.open) {
            throw new IllegalStateException("owned-fd scopes nested");
        }
        o.open = true;
        o.fd = -1;
        return o;
    }

    /** Takes over {@code fd} (closed by {@link #close()} unless handed over); returns it. */
    int own(int fd) {
        if (this.fd >= 0) {
            Linux.close(fd);
            throw new IllegalStateException("this scope owns an fd already");
        }
        this.fd = fd;
        return fd;
    }

    /** The fd, still owned by the scope. */
    int fd() {
        return fd;
    }

    /** Gives the fd to the caller, who closes it from now on. */
    int handOver() {
        int f = fd;
        fd = -1;
        return f;
    }

    @Override
    public void close() {
        int f = fd;
        fd = -1;
        open = false;
        if (f >= 0) {
            Linux.close(f);
        }
    }
}
