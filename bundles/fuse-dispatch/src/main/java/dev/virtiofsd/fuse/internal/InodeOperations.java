package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.api.fs.InitFlags.*;
import static dev.virtiofsd.fuse.internal.FuseProtocol.*;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.AttrOut;
import dev.virtiofsd.api.fs.EntryOut;
import dev.virtiofsd.api.fs.SetattrIn;

/**
 * FUSE operations on names and inodes: lookups and the lookup count (FORGET), attributes, links,
 * creation of nodes without opening them, removal and rename.
 */
final class InodeOperations extends Operations {
    private final EntryOut entry = new EntryOut();
    private final AttrOut attrOut = new AttrOut();
    private final SetattrIn setattrIn = new SetattrIn();

    InodeOperations(Operations.Shared shared) {
        super(shared);
    }

    int lookup() throws ErrnoException {
        int n = request.validName(0, true);
        if (n < 0) {
            return n;
        }
        if (!reply.room(ENTRY_OUT)) {
            return reply.outTooSmall(ENTRY_OUT);
        }
        entry.clear();
        fs.lookup(ctx, request.nodeId, request.args, entry);
        reply.putEntry(OUT_HEADER, entry);
        return ENTRY_OUT;
    }

    int forget() {
        if (request.argLen < FORGET_IN) {
            return request.malformed("fuse_forget_in of " + request.argLen + " bytes");
        }
        fs.forget(request.nodeId, request.argLong(0));
        return NO_REPLY;
    }

    int batchForget() {
        if (request.argLen < BATCH_FORGET_IN) {
            return request.malformed("fuse_batch_forget_in of " + request.argLen + " bytes");
        }
        long count = request.argInt(0) & 0xffffffffL;
        long fit = (request.argTotal - BATCH_FORGET_IN) / FORGET_ONE;
        if (count > fit) {
            LOG.debug(
                    "BATCH_FORGET request {}: count {} but room for {} entries; forgetting those",
                    request.unique,
                    count,
                    fit);
            count = fit;
        }
        // entries stream through the buffer in chunks: a /dev/fuse batch can be as large as max_write
        int perChunk = (RequestDecoder.ARGS_CAP - BATCH_FORGET_IN) / FORGET_ONE;
        long done = 0;
        while (done < count) {
            int chunk = (int) Math.min(perChunk, count - done);
            Segments.copyIn(
                    request.in,
                    IN_HEADER + BATCH_FORGET_IN + done * FORGET_ONE,
                    request.args + BATCH_FORGET_IN,
                    (long) chunk * FORGET_ONE);
            for (int i = 0; i < chunk; i++) {
                int off = IN_HEADER + BATCH_FORGET_IN + i * FORGET_ONE;
                fs.forget(request.buf.getLong(off), request.buf.getLong(off + 8));
            }
            done += chunk;
        }
        return NO_REPLY;
    }

    int getattr() throws ErrnoException {
        if (request.argLen < GETATTR_IN) {
            return request.malformed("fuse_getattr_in of " + request.argLen + " bytes");
        }
        long fh = (request.argInt(0) & GETATTR_FH) != 0 ? request.argLong(8) : -1;
        if (!reply.room(ATTR_OUT)) {
            return reply.outTooSmall(ATTR_OUT);
        }
        attrOut.clear();
        fs.getattr(ctx, request.nodeId, fh, attrOut);
        reply.putAttrOut(OUT_HEADER, attrOut);
        return ATTR_OUT;
    }

    int setattr() throws ErrnoException {
        if (request.argLen < SETATTR_IN) {
            return request.malformed("fuse_setattr_in of " + request.argLen + " bytes");
        }
        SetattrIn s = setattrIn;
        s.valid = request.argInt(0);
        s.fh = request.argLong(8);
        s.size = request.argLong(16);
        s.lockOwner = request.argLong(24);
        s.atime = request.argLong(32);
        s.mtime = request.argLong(40);
        s.ctime = request.argLong(48);
        s.atimensec = request.argInt(56);
        s.mtimensec = request.argInt(60);
        s.ctimensec = request.argInt(64);
        s.mode = request.argInt(68);
        s.uid = request.argInt(76);
        s.gid = request.argInt(80);
        if (!reply.room(ATTR_OUT)) {
            return reply.outTooSmall(ATTR_OUT);
        }
        attrOut.clear();
        fs.setattr(ctx, request.nodeId, s, attrOut);
        reply.putAttrOut(OUT_HEADER, attrOut);
        return ATTR_OUT;
    }

    int readlink() throws ErrnoException {
        int cap = (int) Math.min(PATH_MAX, reply.outTotal - OUT_HEADER);
        if (cap <= 0) {
            return reply.outTooSmall(1);
        }
        int n = fs.readlink(ctx, request.nodeId, reply.body, cap);
        return reply.checkedLength(n, cap);
    }

    int symlink() throws ErrnoException {
        int n = request.validName(0, false);
        if (n < 0) {
            return n;
        }
        int targetOff = n + 1;
        int t = request.nulTerminated(targetOff, PATH_MAX - 1, "symlink target");
        if (t < 0) {
            return t;
        }
        int sc = request.secctx(ctx, targetOff + t + 1);
        if (sc < 0) {
            return sc;
        }
        if (!reply.room(ENTRY_OUT)) {
            return reply.outTooSmall(ENTRY_OUT);
        }
        entry.clear();
        fs.symlink(ctx, request.nodeId, request.args, request.args + targetOff, entry);
        reply.putEntry(OUT_HEADER, entry);
        return ENTRY_OUT;
    }

    int mknod() throws ErrnoException {
        if (request.argLen < MKNOD_IN) {
            return request.malformed("fuse_mknod_in of " + request.argLen + " bytes");
        }
        int n = request.validName(MKNOD_IN, false);
        if (n < 0) {
            return n;
        }
        int sc = request.secctx(ctx, MKNOD_IN + n + 1);
        if (sc < 0) {
            return sc;
        }
        if (!reply.room(ENTRY_OUT)) {
            return reply.outTooSmall(ENTRY_OUT);
        }
        entry.clear();
        fs.mknod(
                ctx,
                request.nodeId,
                request.args + MKNOD_IN,
                request.argInt(0),
                request.argInt(4),
                request.argInt(8),
                entry);
        reply.putEntry(OUT_HEADER, entry);
        return ENTRY_OUT;
    }

    int mkdir() throws ErrnoException {
        if (request.argLen < MKDIR_IN) {
            return request.malformed("fuse_mkdir_in of " + request.argLen + " bytes");
        }
        int n = request.validName(MKDIR_IN, false);
        if (n < 0) {
            return n;
        }
        int sc = request.secctx(ctx, MKDIR_IN + n + 1);
        if (sc < 0) {
            return sc;
        }
        if (!reply.room(ENTRY_OUT)) {
            return reply.outTooSmall(ENTRY_OUT);
        }
        entry.clear();
        fs.mkdir(ctx, request.nodeId, request.args + MKDIR_IN, request.argInt(0), request.argInt(4), entry);
        reply.putEntry(OUT_HEADER, entry);
        return ENTRY_OUT;
    }

    int unlinkOrRmdir() throws ErrnoException {
        int n = request.validName(0, false);
        if (n < 0) {
            return n;
        }
        if (request.opcode == UNLINK) {
            fs.unlink(ctx, request.nodeId, request.args);
        } else {
            fs.rmdir(ctx, request.nodeId, request.args);
        }
        return 0;
    }

    int rename(int structLen, boolean withFlags) throws ErrnoException {
        if (request.argLen < structLen) {
            return request.malformed("rename arguments of " + request.argLen + " bytes");
        }
        int n1 = request.validName(structLen, false);
        if (n1 < 0) {
            return n1;
        }
        int newOff = structLen + n1 + 1;
        int n2 = request.validName(newOff, false);
        if (n2 < 0) {
            return n2;
        }
        int flags = withFlags ? request.argInt(8) : 0;
        fs.rename(ctx, request.nodeId, request.args + structLen, request.argLong(0), request.args + newOff, flags);
        return 0;
    }

    int link() throws ErrnoException {
        if (request.argLen < LINK_IN) {
            return request.malformed("fuse_link_in of " + request.argLen + " bytes");
        }
        int n = request.validName(LINK_IN, false);
        if (n < 0) {
            return n;
        }
        if (!reply.room(ENTRY_OUT)) {
            return reply.outTooSmall(ENTRY_OUT);
        }
        entry.clear();
        fs.link(ctx, request.argLong(0), request.nodeId, request.args + LINK_IN, entry);
        reply.putEntry(OUT_HEADER, entry);
        return ENTRY_OUT;
    }

    int access() throws ErrnoException {
        if (request.argLen < ACCESS_IN) {
            return request.malformed("fuse_access_in of " + request.argLen + " bytes");
        }
        fs.access(ctx, request.nodeId, request.argInt(0));
        return 0;
    }
}
