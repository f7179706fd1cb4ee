package dev.virtiofsd.passthrough.internal;

import static dev.virtiofsd.api.Errno.EBADF;

import dev.virtiofsd.api.ErrnoException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The guest's open files and directories by fh (never the raw fd). The table holds one reference
 * on each until RELEASE, RELEASEDIR or DESTROY takes it out; a request takes its own reference
 * ({@link #file}, {@link #dir}) for as long as it uses the fd. An fh of another node, or of the
 * other kind (file/directory), is EBADF.
 */
final class OpenFiles {
    private final ConcurrentHashMap<Long, OpenFile> byFh = new ConcurrentHashMap<>(256);
    private final AtomicLong nextFh = new AtomicLong(1);

    /** Takes the table's reference on {@code f}; returns its new fh. */
    long register(OpenFile f) {
        long fh = nextFh.getAndIncrement();
        byFh.put(fh, f);
        return fh;
    }

    /** The open file {@code fh} of {@code nodeId} with a reference for this request (close it); else EBADF. */
    OpenFile file(long nodeId, long fh) throws ErrnoException {
        OpenFile f = byFh.get(fh);
        if (f == null || f.inode.nodeId != nodeId || f instanceof OpenFile.Dir || !f.tryRetain()) {
            throw ErrnoException.of(EBADF);
        }
        return f;
    }

    /** As {@link #file} for an open directory. */
    OpenFile.Dir dir(long nodeId, long fh) throws ErrnoException {
        OpenFile f = byFh.get(fh);
        if (!(f instanceof OpenFile.Dir d) || f.inode.nodeId != nodeId || !f.tryRetain()) {
            throw ErrnoException.of(EBADF);
        }
        return d;
    }

    /** The open file {@code fh} without a reference (null if none): for lock-owner bookkeeping. */
    OpenFile peek(long fh) {
        return byFh.get(fh);
    }

    /** RELEASE: the file leaves the table, its lock owners' locks go; requests using it keep the fd until done. */
    void release(long nodeId, long fh) throws ErrnoException {
        OpenFile f = byFh.get(fh);
        if (f == null || f.inode.nodeId != nodeId || f instanceof OpenFile.Dir) {
            throw ErrnoException.of(EBADF);
        }
        if (byFh.remove(fh, f)) {
            f.dropLocks();
            f.close(); // the table's reference: requests still using it keep the fd until they are done
        }
    }

    /** RELEASEDIR. */
    void releaseDir(long nodeId, long fh) throws ErrnoException {
        OpenFile f = byFh.get(fh);
        if (!(f instanceof OpenFile.Dir) || f.inode.nodeId != nodeId) {
            throw ErrnoException.of(EBADF);
        }
        if (byFh.remove(fh, f)) {
            f.close(); // the table's reference
        }
    }

    /** DESTROY or close: drops the table's reference on every open file. */
    void closeAll() {
        for (Map.Entry<Long, OpenFile> e : byFh.entrySet()) {
            if (byFh.remove(e.getKey(), e.getValue())) {
                e.getValue().close(); // the table's reference
            }
        }
    }

    int size() {
        return byFh.size();
    }

    /** The table itself (migration saves and refills it; tests look into it). */
    ConcurrentHashMap<Long, OpenFile> map() {
        return byFh;
    }

    /** The next fh to hand out (migration carries it over). */
    AtomicLong nextFh() {
        return nextFh;
    }
}
