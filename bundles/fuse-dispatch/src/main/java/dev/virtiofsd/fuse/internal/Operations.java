package dev.virtiofsd.fuse.internal;

import dev.virtiofsd.api.fs.FileSystem;
import dev.virtiofsd.api.fs.RequestContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A group of FUSE operation handlers of one worker. A handler reads its arguments from the
 * {@link RequestDecoder}, calls the {@link FileSystem} and encodes the reply body with the
 * {@link ReplyEncoder}; it returns the body length, -errno, or {@link FuseProtocol#NO_REPLY}.
 */
abstract class Operations {
    /** The dispatcher's one logger, named after the worker: operators and tests filter on it. */
    static final Logger LOG = LoggerFactory.getLogger(FuseWorkerImpl.class);

    /** What every handler group of one worker shares; made once per worker. */
    static final class Shared {
        final FuseSessionImpl session;
        final FileSystem fs;
        final RequestDecoder request;
        final ReplyEncoder reply;
        final RequestContext ctx = new RequestContext();
        /** READ and WRITE data: a window of the transport's segments, never a copy. */
        final SegmentView view = new SegmentView();

        Shared(FuseSessionImpl session, FileSystem fs) {
            this.session = session;
            this.fs = fs;
            this.request = new RequestDecoder(session);
            this.reply = new ReplyEncoder(session, request);
        }
    }

    final FuseSessionImpl session;
    final FileSystem fs;
    final RequestDecoder request;
    final ReplyEncoder reply;
    final RequestContext ctx;
    final SegmentView view;

    Operations(Shared shared) {
        this.session = shared.session;
        this.fs = shared.fs;
        this.request = shared.request;
        this.reply = shared.reply;
        this.ctx = shared.ctx;
        this.view = shared.view;
    }
}
