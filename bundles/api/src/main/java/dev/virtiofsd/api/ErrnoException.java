package dev.virtiofsd.api;

/**
 * A failed system call or a FUSE request that must be answered with {@code -errno}.
 *
 * <p>Routine errnos (ENOENT, EEXIST, ...) are part of normal operation, so this exception never
 * fills in a stack trace: throwing it costs an allocation, not a stack walk. Use {@link #of(int)}
 * on hot paths; it returns a shared instance per errno.
 */
public final class ErrnoException extends Exception {
    private static final long serialVersionUID = 1L;
    private static final ErrnoException[] SHARED = new ErrnoException[Errno.MAX + 1];

    static {
        for (int i = 1; i <= Errno.MAX; i++) {
            SHARED[i] = new ErrnoException(i, null);
        }
    }

    private final int errno;

    private ErrnoException(int errno, String message) {
        super(message, null, false, false);
        this.errno = errno;
    }

    /** A shared instance without message: cheap enough for every ENOENT on the request path. */
    public static ErrnoException of(int errno) {
        if (errno > 0 && errno <= Errno.MAX) {
            return SHARED[errno];
        }
        return new ErrnoException(errno <= 0 ? Errno.EIO : errno, null);
    }

    /** A new instance that says which call failed; for start-up and rare paths. */
    public static ErrnoException of(int errno, String what) {
        return new ErrnoException(errno <= 0 ? Errno.EIO : errno, what);
    }

    /** The positive errno number. */
    public int errno() {
        return errno;
    }

    @Override
    public String getMessage() {
        String what = super.getMessage();
        String name = Errno.name(errno);
        return what == null ? name : what + ": " + name;
    }
}
