package dev.virtiofsd.api.transport;

import dev.virtiofsd.api.fs.SegmentList;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Serves one request at a time on the calling thread, with buffers of its own. A transport moves
 * bytes and knows nothing of FUSE: what a request is, and how to answer it, is asked here.
 */
@ProviderType
public interface FuseWorker {
    /**
     * Handles one request read from {@code in} and writes the reply to {@code out}.
     *
     * @return the number of reply bytes written to {@code out} (this is {@code out_header.len}),
     *         or 0 when the request takes no reply (FORGET, BATCH_FORGET, INTERRUPT)
     */
    int handle(SegmentList in, SegmentList out);

    /**
     * Whether the request in {@code in} may sleep for a long time (a lock request that waits for
     * another one to release the lock): the transport then serves it on a thread of its own, so
     * that the requests behind it, among them the one that releases the lock, keep moving. Reads
     * the header only; never fails and allocates nothing.
     *
     * @since 1.2
     */
    boolean mayBlock(SegmentList in);

    /**
     * Answers the request in {@code in} with {@code -errno} without serving it: the transport
     * could not map all of its readable part (EIO), or has no thread left for a request that may
     * block (ENOLCK). Reads at most the header, which may be short or missing.
     *
     * @return the reply bytes written to {@code out}, 0 when the request takes no reply or
     *         {@code out} cannot hold a reply header
     * @since 1.2
     */
    int replyError(SegmentList in, SegmentList out, int errno);
}
