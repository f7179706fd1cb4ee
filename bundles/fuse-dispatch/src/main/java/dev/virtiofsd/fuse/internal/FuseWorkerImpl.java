package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.fuse.internal.FuseProtocol.*;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.FileSystem;
import dev.virtiofsd.api.fs.SegmentList;
import dev.virtiofsd.api.transport.FuseWorker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one FUSE request at a time for one thread: the {@link RequestDecoder} reads it, the
 * {@link DispatchTable} names its handler (grouped in {@link SessionOperations},
 * {@link InodeOperations}, {@link FileOperations}, {@link XattrLockOperations}), the
 * {@link ReplyEncoder} writes the answer. Every buffer and reply object is the worker's own and
 * reused, so a request allocates nothing; READ and WRITE data never pass through them.
 */
final class FuseWorkerImpl implements FuseWorker {
    private static final Logger LOG = LoggerFactory.getLogger(FuseWorkerImpl.class);

    /** See {@link RequestDecoder#ARGS_CAP}. */
    static final int ARGS_CAP = RequestDecoder.ARGS_CAP;
    /** See {@link FuseProtocol#EPROTO}. */
    static final int EPROTO = FuseProtocol.EPROTO;

    private final FuseSessionImpl session;
    private final WorkerStats stats;
    private final Operations.Shared shared;
    private final RequestDecoder request;
    private final ReplyEncoder reply;
    private final DispatchTable table;
    /** Whether this request's latency is measured (see WorkerStats), and since when. */
    private boolean timed;

    private long t0;

    FuseWorkerImpl(FuseSessionImpl session, FileSystem fs, WorkerStats stats) {
        this.session = session;
        this.stats = stats;
        this.shared = new Operations.Shared(session, fs);
        this.request = shared.request;
        this.reply = shared.reply;
        this.table = new DispatchTable(shared);
    }

    @Override
    public int handle(SegmentList in, SegmentList out) {
        request.clear(in);
        reply.clear(out);
        timed = false;
        try {
            reply.measure();
            int r = dispatch();
            if (r < 0 && r != NO_REPLY) {
                stats.error(request.opcode);
            }
            int len = r == NO_REPLY ? 0 : reply.finish(r);
            if (timed) {
                stats.latency(request.opcode, System.nanoTime() - t0);
            }
            return len;
        } catch (Throwable t) {
            // a bug here, not in the filesystem (its calls are wrapped): never let it kill the transport's thread
            LOG.warn("internal error serving {} request {}: {}", name(request.opcode), request.unique, t.toString());
            LOG.debug("internal error details", t);
            if (noReply(request.opcode)) {
                return 0;
            }
            try {
                reply.dataInOut = false;
                return reply.finish(-Errno.EIO);
            } catch (Throwable t2) {
                return 0;
            }
        } finally {
            shared.view.clear();
            request.in = null;
            reply.out = null;
        }
    }

    @Override
    public boolean mayBlock(SegmentList in) {
        // only a lock request that waits for the lock sleeps for long; a short header is nothing
        return request.peekOpcode(in) == SETLKW;
    }

    @Override
    public int replyError(SegmentList in, SegmentList out, int errno) {
        request.peekHeader(in);
        return noReply(request.opcode) ? 0 : reply.errorOnly(out, request.unique, errno);
    }

    /** Decodes the request and runs its handler; returns the body length, -errno or NO_REPLY. */
    private int dispatch() {
        int bad = request.readHeader(shared.ctx);
        if (stats.count(request.opcode)) {
            // timed from here (the header is read: the opcode is known) to the reply written
            timed = true;
            t0 = System.nanoTime();
        }
        if (bad != 0) {
            return bad;
        }
        int opcode = request.opcode;
        if (!session.initialized() && opcode != INIT) {
            if (noReply(opcode)) {
                return NO_REPLY;
            }
            LOG.debug("{} request {} before INIT: EIO", name(opcode), request.unique);
            return -Errno.EIO;
        }
        if (reply.outTotal < OUT_HEADER && !noReply(opcode)) {
            // nowhere to say how it went: do nothing rather than change state the client never learns of
            LOG.debug(
                    "{} request {}: reply space of {} bytes cannot hold a reply header; ignored",
                    name(opcode),
                    request.unique,
                    reply.outTotal);
            return NO_REPLY;
        }
        DispatchTable.Operation op = table.get(opcode);
        if (op == null) {
            LOG.debug("opcode {} request {}: ENOSYS", opcode, request.unique);
            return noReply(opcode) ? NO_REPLY : -Errno.ENOSYS;
        }
        bad = request.readArguments();
        if (bad != 0) {
            return bad;
        }
        try {
            return op.serve();
        } catch (ErrnoException e) {
            return -e.errno();
        } catch (Throwable t) {
            LOG.warn("{} request {} on node {} failed: {}", name(opcode), request.unique, request.nodeId, t.toString());
            LOG.debug("failure details", t);
            return noReply(opcode) ? NO_REPLY : -Errno.EIO;
        }
    }
}
