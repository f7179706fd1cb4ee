package dev.virtiofsd.api.fs;

import dev.virtiofsd.api.ErrnoException;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A filesystem served over FUSE. The dispatcher decodes each request, validates it (lengths,
 * NUL-terminated names without '/') and calls one method here; an {@link ErrnoException} becomes
 * the reply {@code -errno}. Methods may be called from many worker threads at once.
 *
 * <p>Arguments named {@code name}, {@code newName}, {@code target} and {@code xattrName} are native
 * addresses of NUL-terminated byte strings; {@code buffer} arguments are native addresses of
 * writable reply space. Both are valid only during the call.
 */
@ConsumerType
public interface FileSystem {
    /** Node id of the root directory, fixed by the FUSE protocol. */
    long ROOT_ID = 1;

    /**
     * Capability flags (FUSE_INIT {@code flags}, low and high word combined) this filesystem wants,
     * given those the kernel offers. The dispatcher sends the intersection.
     */
    long initFlags(long kernelFlags);

    /** The session ended (DESTROY, or the transport disconnected): drop every inode but the root. */
    void destroy();

    void lookup(RequestContext ctx, long parent, long name, EntryOut out) throws ErrnoException;

    /** The client dropped {@code nlookup} references to {@code nodeId}. Never fails. */
    void forget(long nodeId, long nlookup);

    /** {@code fh} is -1 when the client did not name an open file. */
    void getattr(RequestContext ctx, long nodeId, long fh, AttrOut out) throws ErrnoException;

    void setattr(RequestContext ctx, long nodeId, SetattrIn in, AttrOut out) throws ErrnoException;

    /** Writes the link target to {@code buffer}; returns its length. */
    int readlink(RequestContext ctx, long nodeId, long buffer, int capacity) throws ErrnoException;

    void symlink(RequestContext ctx, long parent, long name, long target, EntryOut out) throws ErrnoException;

    void mknod(RequestContext ctx, long parent, long name, int mode, int rdev, int umask, EntryOut out)
            throws ErrnoException;

    void mkdir(RequestContext ctx, long parent, long name, int mode, int umask, EntryOut out) throws ErrnoException;

    void unlink(RequestContext ctx, long parent, long name) throws ErrnoException;

    void rmdir(RequestContext ctx, long parent, long name) throws ErrnoException;

    /** {@code flags} are renameat2 flags: RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT. */
    void rename(RequestContext ctx, long parent, long name, long newParent, long newName, int flags)
            throws ErrnoException;

    void link(RequestContext ctx, long nodeId, long newParent, long newName, EntryOut out) throws ErrnoException;

    void open(RequestContext ctx, long nodeId, int flags, OpenOut out) throws ErrnoException;

    void create(
            RequestContext ctx, long parent, long name, int mode, int flags, int umask, EntryOut entry, OpenOut open)
            throws ErrnoException;

    /** O_TMPFILE in directory {@code parent}: an unnamed file, returned as entry and open file. */
    void tmpfile(RequestContext ctx, long parent, int mode, int flags, int umask, EntryOut entry, OpenOut open)
            throws ErrnoException;

    /** Reads up to {@code size} bytes at {@code offset} straight into {@code dst}; returns the count. */
    int read(RequestContext ctx, long nodeId, long fh, long offset, int size, SegmentList dst) throws ErrnoException;

    /**
     * Writes {@code src} at {@code offset}; returns the count. {@code killPriv} asks to clear
     * setuid/setgid like a write by an unprivileged user would (FUSE_WRITE_KILL_SUIDGID).
     */
    int write(RequestContext ctx, long nodeId, long fh, long offset, SegmentList src, boolean killPriv)
            throws ErrnoException;

    void flush(RequestContext ctx, long nodeId, long fh, long lockOwner) throws ErrnoException;

    /** {@code lockOwner} is non-zero when flock locks of that owner must be released too. */
    void release(RequestContext ctx, long nodeId, long fh, int flags, long lockOwner, boolean flockRelease)
            throws ErrnoException;

    void fsync(RequestContext ctx, long nodeId, long fh, boolean datasync) throws ErrnoException;

    void opendir(RequestContext ctx, long nodeId, int flags, OpenOut out) throws ErrnoException;

    /** READDIR, or READDIRPLUS when {@code sink.plus()}. Stops when {@code sink.fits} says no. */
    void readdir(RequestContext ctx, long nodeId, long fh, long offset, DirSink sink) throws ErrnoException;

    void releasedir(RequestContext ctx, long nodeId, long fh) throws ErrnoException;

    void fsyncdir(RequestContext ctx, long nodeId, long fh, boolean datasync) throws ErrnoException;

    void statfs(RequestContext ctx, long nodeId, StatfsOut out) throws ErrnoException;

    void access(RequestContext ctx, long nodeId, int mask) throws ErrnoException;

    void setxattr(RequestContext ctx, long nodeId, long xattrName, long value, int size, int flags)
            throws ErrnoException;

    /** With {@code capacity == 0} returns the size needed; otherwise writes and returns the size. */
    int getxattr(RequestContext ctx, long nodeId, long xattrName, long buffer, int capacity) throws ErrnoException;

    /** With {@code capacity == 0} returns the size needed; otherwise writes and returns the size. */
    int listxattr(RequestContext ctx, long nodeId, long buffer, int capacity) throws ErrnoException;

    void removexattr(RequestContext ctx, long nodeId, long xattrName) throws ErrnoException;

    void fallocate(RequestContext ctx, long nodeId, long fh, int mode, long offset, long length) throws ErrnoException;

    long lseek(RequestContext ctx, long nodeId, long fh, long offset, int whence) throws ErrnoException;

    long copyFileRange(
            RequestContext ctx,
            long nodeIn,
            long fhIn,
            long offIn,
            long nodeOut,
            long fhOut,
            long offOut,
            long length,
            int flags)
            throws ErrnoException;

    void syncfs(RequestContext ctx, long nodeId) throws ErrnoException;

    /** GETLK: fills {@code lock} with a conflicting lock, or sets its type to F_UNLCK. */
    void getlk(RequestContext ctx, long nodeId, long fh, long owner, FileLock lock) throws ErrnoException;

    /**
     * SETLK/SETLKW: {@code flock} selects BSD flock semantics (FUSE_LK_FLOCK) instead of a POSIX
     * byte-range lock; {@code sleep} waits for a conflicting lock to go away.
     */
    void setlk(RequestContext ctx, long nodeId, long fh, long owner, FileLock lock, boolean flock, boolean sleep)
            throws ErrnoException;
}
