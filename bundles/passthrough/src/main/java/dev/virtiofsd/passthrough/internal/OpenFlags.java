package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.fs.OpenOut;
import dev.virtiofsd.linux.Linux;

/** OPEN, CREATE and OPENDIR flags: the guest's open flags as the host gets them, and the FOPEN_* reply flags. */
final class OpenFlags {
    private final PassthroughFeatures features;
    private final PassthroughOptions.Cache cacheMode;
    private final InitNegotiation session;

    OpenFlags(PassthroughFeatures features, PassthroughOptions.Cache cacheMode, InitNegotiation session) {
        this.features = features;
        this.cacheMode = cacheMode;
        this.session = session;
    }

    /** Whether an open with {@code flags} may change the file (refused on a read-only share). */
    static boolean writes(int flags) {
        return (flags & Linux.O_ACCMODE) != Linux.O_RDONLY || (flags & (Linux.O_TRUNC | Linux.O_APPEND)) != 0;
    }

    /** The bit of O_TMPFILE that is not O_DIRECTORY. */
    private static final int O_TMPFILE_BIT = Linux.O_TMPFILE & ~Linux.O_DIRECTORY;

    /**
     * Open flags for the host, as virtiofsd: no O_CREAT/O_EXCL/O_NOCTTY (the file exists); never
     * O_PATH (an fh must be usable for I/O) nor O_TMPFILE (OPEN must not create anything); no
     * O_DIRECT unless --allow-direct-io (the guest's direct I/O need not bypass the host page
     * cache); no O_NOATIME unless --preserve-noatime (it fails for files the caller does not own
     * when unprivileged); with the writeback cache, write-only becomes read-write (the guest kernel
     * reads to fill its pages) and O_APPEND is dropped (the guest computes the offsets).
     */
    int host(int flags) {
        int f = flags & ~(Linux.O_CREAT | Linux.O_EXCL | Linux.O_NOCTTY | Linux.O_PATH | O_TMPFILE_BIT);
        if (!features.allowDirectIo()) {
            f &= ~Linux.O_DIRECT;
        }
        if (!features.preserveNoatime()) {
            f &= ~Linux.O_NOATIME;
        }
        if (session.writeback()) {
            if ((f & Linux.O_ACCMODE) == Linux.O_WRONLY) {
                f = (f & ~Linux.O_ACCMODE) | Linux.O_RDWR;
            }
            f &= ~Linux.O_APPEND;
        }
        return f;
    }

    /** FOPEN_* flags of an opened file, by cache mode. */
    int file() {
        switch (cacheMode) {
            case NEVER:
            case METADATA:
                return OpenOut.DIRECT_IO;
            case ALWAYS:
                return OpenOut.KEEP_CACHE;
            default:
                return 0;
        }
    }

    /** FOPEN_* flags of an opened directory, by cache mode. */
    int dir() {
        switch (cacheMode) {
            case METADATA:
            case ALWAYS:
                return OpenOut.CACHE_DIR;
            default:
                return 0;
        }
    }
}
