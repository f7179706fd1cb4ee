package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.api.fs.InitFlags.*;
import static dev.virtiofsd.fuse.internal.FuseProtocol.*;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.EntryOut;
import dev.virtiofsd.api.fs.OpenOut;
import dev.virtiofsd.linux.NativeMemory;

/**
 * FUSE operations on open files and directories: open and create, READ and WRITE (straight between
 * the file and the transport's segments), flush, release, fsync, READDIR, space and copies.
 */
final class FileOperations extends Operations {
    /** Kernel's own cap of one COPY_FILE_RANGE: UINT_MAX & PAGE_MASK (the reply size is a u32). */
    private static final long COPY_FILE_RANGE_MAX = 0xFFFFF000L;

    private final EntryOut entry = new EntryOut();
    private final OpenOut openOut = new OpenOut();

    FileOperations(Operations.Shared shared) {
        super(shared);
    }

    int open() throws ErrnoException {
        if (request.argLen < OPEN_IN) {
            return request.malformed("fuse_open_in of " + request.argLen + " bytes");
        }
        if (!reply.room(OPEN_OUT)) {
            return reply.outTooSmall(OPEN_OUT);
        }
        openOut.clear();
        if (request.opcode == OPEN) {
            ctx.killSuidGid = (request.argInt(4) & OPEN_KILL_SUIDGID) != 0;
            fs.open(ctx, request.nodeId, request.argInt(0), openOut);
        } else {
            fs.opendir(ctx, request.nodeId, request.argInt(0), openOut);
        }
        reply.putOpen(OUT_HEADER, openOut);
        return OPEN_OUT;
    }

    int create() throws ErrnoException {
        if (request.argLen < CREATE_IN) {
            return request.malformed("fuse_create_in of " + request.argLen + " bytes");
        }
        int n = request.validName(CREATE_IN, false);
        if (n < 0) {
            return n;
        }
        int sc = request.secctx(ctx, CREATE_IN + n + 1);
        if (sc < 0) {
            return sc;
        }
        ctx.killSuidGid = (request.argInt(12) & OPEN_KILL_SUIDGID) != 0;
        if (!reply.room(ENTRY_OUT + OPEN_OUT)) {
            return reply.outTooSmall(ENTRY_OUT + OPEN_OUT);
        }
        entry.clear();
        openOut.clear();
        fs.create(
                ctx,
                request.nodeId,
                request.args + CREATE_IN,
                request.argInt(4),
                request.argInt(0),
                request.argInt(8),
                entry,
                openOut);
        reply.putEntry(OUT_HEADER, entry);
        reply.putOpen(OUT_HEADER + ENTRY_OUT, openOut);
        return ENTRY_OUT + OPEN_OUT;
    }

    int tmpfile() throws ErrnoException {
        // the kernel appends the name of its placeholder dentry ("/"): not a name, ignored
        if (request.argLen < CREATE_IN) {
            return request.malformed("fuse_create_in of " + request.argLen + " bytes");
        }
        int placeholder = request.argLen > CREATE_IN
                ? NativeMemory.indexOf(request.args + CREATE_IN, request.argLen - CREATE_IN, (byte) 0)
                : -1;
        int sc = request.secctx(ctx, placeholder < 0 ? request.argLen : CREATE_IN + placeholder + 1);
        if (sc < 0) {
            return sc;
        }
        if (!reply.room(ENTRY_OUT + OPEN_OUT)) {
            return reply.outTooSmall(ENTRY_OUT + OPEN_OUT);
        }
        entry.clear();
        openOut.clear();
        fs.tmpfile(ctx, request.nodeId, request.argInt(4), request.argInt(0), request.argInt(8), entry, openOut);
        reply.putEntry(OUT_HEADER, entry);
        reply.putOpen(OUT_HEADER + ENTRY_OUT, openOut);
        return ENTRY_OUT + OPEN_OUT;
    }

    int read() throws ErrnoException {
        if (request.argLen < READ_IN) {
            return request.malformed("fuse_read_in of " + request.argLen + " bytes");
        }
        long size = request.argInt(16) & 0xffffffffL;
        int cap = (int) Math.min(Math.min(size, reply.outTotal - OUT_HEADER), session.maxWrite);
        view.set(reply.out, OUT_HEADER, cap);
        int n = fs.read(ctx, request.nodeId, request.argLong(0), request.argLong(8), cap, view);
        n = reply.checkedLength(n, cap);
        reply.dataInOut = true;
        return n;
    }

    int write() throws ErrnoException {
        if (request.argLen < WRITE_IN) {
            return request.malformed("fuse_write_in of " + request.argLen + " bytes");
        }
        long size = request.argInt(16) & 0xffffffffL;
        long payload = request.argTotal - WRITE_IN;
        if (size > payload || size > Integer.MAX_VALUE) {
            return request.malformed("WRITE of " + size + " bytes with a payload of " + payload);
        }
        if (!reply.room(WRITE_OUT)) {
            return reply.outTooSmall(WRITE_OUT);
        }
        view.set(request.in, IN_HEADER + WRITE_IN, size);
        boolean killPriv = (request.argInt(20) & WRITE_KILL_SUIDGID) != 0;
        int n = fs.write(ctx, request.nodeId, request.argLong(0), request.argLong(8), view, killPriv);
        n = reply.checkedLength(n, (int) size);
        if (n < 0) {
            return n;
        }
        reply.buf.putInt(OUT_HEADER, n);
        reply.buf.putInt(OUT_HEADER + 4, 0);
        return WRITE_OUT;
    }

    int flush() throws ErrnoException {
        if (request.argLen < FLUSH_IN) {
            return request.malformed("fuse_flush_in of " + request.argLen + " bytes");
        }
        fs.flush(ctx, request.nodeId, request.argLong(0), request.argLong(16));
        return 0;
    }

    int release() throws ErrnoException {
        if (request.argLen < RELEASE_IN) {
            return request.malformed("fuse_release_in of " + request.argLen + " bytes");
        }
        if (request.opcode == RELEASE) {
            boolean flockRelease = (request.argInt(12) & RELEASE_FLOCK_UNLOCK) != 0;
            fs.release(ctx, request.nodeId, request.argLong(0), request.argInt(8), request.argLong(16), flockRelease);
        } else {
            fs.releasedir(ctx, request.nodeId, request.argLong(0));
        }
        return 0;
    }

    int fsync() throws ErrnoException {
        if (request.argLen < FSYNC_IN) {
            return request.malformed("fuse_fsync_in of " + request.argLen + " bytes");
        }
        boolean datasync = (request.argInt(8) & FSYNC_FDATASYNC) != 0;
        if (request.opcode == FSYNC) {
            fs.fsync(ctx, request.nodeId, request.argLong(0), datasync);
        } else {
            fs.fsyncdir(ctx, request.nodeId, request.argLong(0), datasync);
        }
        return 0;
    }

    int readdir(boolean plus) throws ErrnoException {
        if (request.argLen < READ_IN) {
            return request.malformed("fuse_read_in of " + request.argLen + " bytes");
        }
        long size = request.argInt(16) & 0xffffffffL;
        int cap = (int) Math.min(Math.min(size, ReplyEncoder.DATA_CAP), reply.outTotal - OUT_HEADER);
        reply.dir.reset(plus, cap);
        fs.readdir(ctx, request.nodeId, request.argLong(0), request.argLong(8), reply.dir);
        return reply.dir.used;
    }

    int fallocate() throws ErrnoException {
        if (request.argLen < FALLOCATE_IN) {
            return request.malformed("fuse_fallocate_in of " + request.argLen + " bytes");
        }
        fs.fallocate(
                ctx, request.nodeId, request.argLong(0), request.argInt(24), request.argLong(8), request.argLong(16));
        return 0;
    }

    int lseek() throws ErrnoException {
        if (request.argLen < LSEEK_IN) {
            return request.malformed("fuse_lseek_in of " + request.argLen + " bytes");
        }
        if (!reply.room(LSEEK_OUT)) {
            return reply.outTooSmall(LSEEK_OUT);
        }
        long off = fs.lseek(ctx, request.nodeId, request.argLong(0), request.argLong(8), request.argInt(16));
        reply.buf.putLong(OUT_HEADER, off);
        return LSEEK_OUT;
    }

    int copyFileRange() throws ErrnoException {
        if (request.argLen < COPY_FILE_RANGE_IN) {
            return request.malformed("fuse_copy_file_range_in of " + request.argLen + " bytes");
        }
        long flags = request.argLong(48);
        if (flags != (int) flags) {
            return request.malformed("copy_file_range flags 0x" + Long.toHexString(flags));
        }
        if (!reply.room(WRITE_OUT)) {
            return reply.outTooSmall(WRITE_OUT);
        }
        long len = Math.min(request.argLong(40) < 0 ? COPY_FILE_RANGE_MAX : request.argLong(40), COPY_FILE_RANGE_MAX);
        long n = fs.copyFileRange(
                ctx,
                request.nodeId,
                request.argLong(0),
                request.argLong(8),
                request.argLong(16),
                request.argLong(24),
                request.argLong(32),
                len,
                (int) flags);
        if (n < 0 || n > len) {
            return reply.badResult(n);
        }
        reply.buf.putInt(OUT_HEADER, (int) n);
        reply.buf.putInt(OUT_HEADER + 4, 0);
        return WRITE_OUT;
    }
}
