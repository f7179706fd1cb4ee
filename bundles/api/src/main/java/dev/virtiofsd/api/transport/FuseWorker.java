package dev.virtiofsd.api.transport;

import dev.virtiofsd.api.fs.SegmentList;

/** Serves one request at a time on the calling thread, with buffers of its own. */
public interface FuseWorker {
    /**
     * Handles one request read from {@code in} and writes the reply to {@code out}.
     *
     * @return the number of reply bytes written to {@code out} (this is {@code out_header.len}),
     *         or 0 when the request takes no reply (FORGET, BATCH_FORGET, INTERRUPT)
     */
    int handle(SegmentList in, SegmentList out);
}
