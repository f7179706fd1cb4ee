package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.api.fs.InitFlags.*;
import static dev.virtiofsd.fuse.internal.FuseProtocol.*;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.FileLock;

/**
 * FUSE operations on extended attributes and POSIX/flock locks.
 */
final class XattrLockOperations extends Operations {
    private final FileLock lock = new FileLock();

    XattrLockOperations(Operations.Shared shared) {
        super(shared);
    }

    int setxattr() throws ErrnoException {
        // with SETXATTR_EXT the kernel sends the 16-byte struct whose third word is setxattr_flags
        boolean ext = (session.flags() & SETXATTR_EXT) != 0;
        int structLen = ext ? SETXATTR_IN_EXT : SETXATTR_IN;
        if (request.argLen < structLen) {
            return request.malformed("fuse_setxattr_in of " + request.argLen + " bytes");
        }
        if (ext) {
            ctx.setxattrFlags = request.argInt(8);
        }
        int n = request.xattrName(structLen);
        if (n < 0) {
            return n;
        }
        int valueOff = structLen + n + 1;
        long size = request.argInt(0) & 0xffffffffL;
        if (size > request.argLen - valueOff) {
            return request.malformed("xattr value of " + size + " bytes, " + (request.argLen - valueOff) + " present");
        }
        fs.setxattr(
                ctx, request.nodeId, request.args + structLen, request.args + valueOff, (int) size, request.argInt(4));
        return 0;
    }

    int getxattr() throws ErrnoException {
        if (request.argLen < GETXATTR_IN) {
            return request.malformed("fuse_getxattr_in of " + request.argLen + " bytes");
        }
        int n = request.xattrName(GETXATTR_IN);
        if (n < 0) {
            return n;
        }
        return xattrReply(true);
    }

    int listxattr() throws ErrnoException {
        if (request.argLen < GETXATTR_IN) {
            return request.malformed("fuse_getxattr_in of " + request.argLen + " bytes");
        }
        return xattrReply(false);
    }

    /** GETXATTR/LISTXATTR: size 0 asks for the size (fuse_getxattr_out), else for the data. */
    int xattrReply(boolean get) throws ErrnoException {
        long size = request.argInt(0) & 0xffffffffL;
        if (size == 0) {
            if (!reply.room(GETXATTR_OUT)) {
                return reply.outTooSmall(GETXATTR_OUT);
            }
            int needed = get
                    ? fs.getxattr(ctx, request.nodeId, request.args + GETXATTR_IN, reply.body, 0)
                    : fs.listxattr(ctx, request.nodeId, reply.body, 0);
            if (needed < 0) {
                return reply.badResult(needed);
            }
            reply.buf.putInt(OUT_HEADER, needed);
            reply.buf.putInt(OUT_HEADER + 4, 0);
            return GETXATTR_OUT;
        }
        int cap = (int) Math.min(Math.min(size, ReplyEncoder.DATA_CAP), reply.outTotal - OUT_HEADER);
        if (cap <= 0) {
            return reply.outTooSmall(1);
        }
        int n = get
                ? fs.getxattr(ctx, request.nodeId, request.args + GETXATTR_IN, reply.body, cap)
                : fs.listxattr(ctx, request.nodeId, reply.body, cap);
        return reply.checkedLength(n, cap);
    }

    int removexattr() throws ErrnoException {
        int n = request.xattrName(0);
        if (n < 0) {
            return n;
        }
        fs.removexattr(ctx, request.nodeId, request.args);
        return 0;
    }

    private boolean readLock() {
        if (request.argLen < LK_IN) {
            return false;
        }
        lock.start = request.argLong(16);
        lock.end = request.argLong(24);
        lock.type = request.argInt(32);
        lock.pid = request.argInt(36);
        return true;
    }

    int getlk() throws ErrnoException {
        if (!readLock()) {
            return request.malformed("fuse_lk_in of " + request.argLen + " bytes");
        }
        if (!reply.room(LK_OUT)) {
            return reply.outTooSmall(LK_OUT);
        }
        fs.getlk(ctx, request.nodeId, request.argLong(0), request.argLong(8), lock);
        reply.buf.putLong(OUT_HEADER, lock.start);
        reply.buf.putLong(OUT_HEADER + 8, lock.end);
        reply.buf.putInt(OUT_HEADER + 16, lock.type);
        reply.buf.putInt(OUT_HEADER + 20, lock.pid);
        return LK_OUT;
    }

    int setlk(boolean sleep) throws ErrnoException {
        if (!readLock()) {
            return request.malformed("fuse_lk_in of " + request.argLen + " bytes");
        }
        boolean flock = (request.argInt(40) & LK_FLOCK) != 0;
        if (!sleep) {
            fs.setlk(ctx, request.nodeId, request.argLong(0), request.argLong(8), lock, flock, false);
            return 0;
        }
        // Only a sleeping lock can wait for long: make it findable by INTERRUPT.
        session.sleeping(request.unique, Thread.currentThread());
        try {
            fs.setlk(ctx, request.nodeId, request.argLong(0), request.argLong(8), lock, flock, true);
            return 0;
        } finally {
            session.awake(request.unique);
            Thread.interrupted(); // a late INTERRUPT must not leak into the next request
        }
    }
}
