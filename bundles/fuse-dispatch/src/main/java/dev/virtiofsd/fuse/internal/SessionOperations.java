package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.api.fs.InitFlags.*;
import static dev.virtiofsd.fuse.internal.FuseProtocol.*;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.StatfsOut;
import dev.virtiofsd.linux.NativeMemory;

/**
 * FUSE operations about the connection rather than a file: INIT (negotiation), DESTROY, INTERRUPT,
 * STATFS and SYNCFS.
 */
final class SessionOperations extends Operations {
    private final StatfsOut statfsOut = new StatfsOut();

    SessionOperations(Operations.Shared shared) {
        super(shared);
    }

    int destroy() {
        session.destroy();
        return 0;
    }

    int syncfs() throws ErrnoException {
        fs.syncfs(ctx, request.nodeId);
        return 0;
    }

    int init() throws ErrnoException {
        if (session.initialized()) {
            // the guest rebooted (or remounted) without DESTROY: release what the old client held
            session.restart();
        }
        if (request.argLen < INIT_IN_MIN) {
            return request.malformed("fuse_init_in of " + request.argLen + " bytes");
        }
        int major = request.argInt(0);
        int minor = request.argInt(4);
        int maxReadahead = request.argInt(8);
        int kernelLow = request.argInt(12);
        if (!reply.room(INIT_OUT)) {
            return reply.outTooSmall(INIT_OUT);
        }
        NativeMemory.fill(reply.body, INIT_OUT, (byte) 0);
        if (major > KERNEL_VERSION) {
            // the kernel retries INIT with the major we answer
            LOG.info("FUSE INIT: kernel offers {}.{}; answering major {}", major, minor, KERNEL_VERSION);
            reply.buf.putInt(OUT_HEADER, KERNEL_VERSION);
            reply.buf.putInt(OUT_HEADER + 4, MAX_MINOR);
            return INIT_OUT;
        }
        if (major < KERNEL_VERSION || minor < MIN_MINOR) {
            LOG.warn(
                    "FUSE INIT: kernel protocol {}.{} is older than {}.{}; refusing",
                    major,
                    minor,
                    KERNEL_VERSION,
                    MIN_MINOR);
            return -EPROTO;
        }
        long kernelFlags = kernelLow & 0xffffffffL;
        if ((kernelFlags & INIT_EXT) != 0 && request.argLen >= INIT_IN_MIN + 4) {
            kernelFlags |= (request.argInt(16) & 0xffffffffL) << 32;
        }
        long wanted = fs.initFlags(kernelFlags);
        long flags = kernelFlags & SUPPORTED & (wanted | DISPATCHER_OWNED);
        if ((flags >>> 32) != 0) {
            // flags2 is read only when the reply's flags carry INIT_EXT (which the kernel offered)
            flags |= INIT_EXT;
        }
        int negotiatedMinor = Math.min(minor, MAX_MINOR);
        int maxWrite = session.maxWrite;
        reply.buf.putInt(OUT_HEADER, KERNEL_VERSION);
        reply.buf.putInt(OUT_HEADER + 4, negotiatedMinor);
        reply.buf.putInt(OUT_HEADER + 8, maxReadahead);
        reply.buf.putInt(OUT_HEADER + 12, (int) flags);
        // as Rust virtiofsd: let the guest keep many background requests (readahead, writeback) in flight
        reply.buf.putShort(OUT_HEADER + 16, (short) 0xffff);
        reply.buf.putShort(OUT_HEADER + 18, (short) (0xffff / 4 * 3));
        reply.buf.putInt(OUT_HEADER + 20, maxWrite);
        reply.buf.putInt(OUT_HEADER + 24, 1); // time_gran: nanosecond timestamps
        if ((flags & MAX_PAGES) != 0) {
            reply.buf.putShort(OUT_HEADER + 28, (short) Math.max(1, Math.min(0xffff, maxWrite / 4096)));
        }
        reply.buf.putInt(OUT_HEADER + 32, (int) (flags >>> 32)); // flags2
        session.initDone(negotiatedMinor, flags);
        LOG.info(
                "FUSE INIT: kernel {}.{}, negotiated 7.{}, flags 0x{} of 0x{}, max_write {}",
                major,
                minor,
                negotiatedMinor,
                Long.toHexString(flags),
                Long.toHexString(kernelFlags),
                maxWrite);
        return INIT_OUT;
    }

    /** INTERRUPT (no reply): wakes the worker serving a sleeping lock request, if any. */
    int interrupt() {
        if (request.argLen >= 8) {
            session.interrupt(request.argLong(0));
        }
        return NO_REPLY;
    }

    int statfs() throws ErrnoException {
        if (!reply.room(STATFS_OUT)) {
            return reply.outTooSmall(STATFS_OUT);
        }
        StatfsOut s = statfsOut;
        s.blocks = s.bfree = s.bavail = s.files = s.ffree = 0;
        s.bsize = s.namelen = s.frsize = 0;
        fs.statfs(ctx, request.nodeId, s);
        NativeMemory.fill(reply.body, STATFS_OUT, (byte) 0);
        reply.buf.putLong(OUT_HEADER, s.blocks);
        reply.buf.putLong(OUT_HEADER + 8, s.bfree);
        reply.buf.putLong(OUT_HEADER + 16, s.bavail);
        reply.buf.putLong(OUT_HEADER + 24, s.files);
        reply.buf.putLong(OUT_HEADER + 32, s.ffree);
        reply.buf.putInt(OUT_HEADER + 40, s.bsize);
        reply.buf.putInt(OUT_HEADER + 44, s.namelen);
        reply.buf.putInt(OUT_HEADER + 48, s.frsize);
        return STATFS_OUT;
    }
}
