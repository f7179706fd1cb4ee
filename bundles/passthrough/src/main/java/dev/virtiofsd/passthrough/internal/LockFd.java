package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Flock;
import dev.virtiofsd.linux.Linux;

/**
 * One lock owner's fd on an inode: it carries that owner's OFD locks (closing it releases them). A
 * lock call and {@link #close()} are serialized on this object, so a lock call never reaches a
 * closed, maybe already reused, fd number. Only non-blocking commands (F_OFD_GETLK, F_OFD_SETLK) run
 * under the monitor; a sleeping lock polls between calls.
 */
final class LockFd {
    private final Runnable onClose;
    private int fd;

    /** Takes over {@code fd}; {@code onClose} runs once, after it is closed (gives back its budget). */
    LockFd(int fd, Runnable onClose) {
        this.fd = fd;
        this.onClose = onClose;
    }

    synchronized void fcntl(int cmd, Flock lock) throws ErrnoException {
        if (fd < 0) {
            throw ErrnoException.of(Errno.EBADF);
        }
        lock.ofdLock(fd, cmd);
    }

    void close() {
        synchronized (this) {
            if (fd < 0) {
                return;
            }
            Linux.close(fd);
            fd = -1;
        }
        onClose.run();
    }
}
