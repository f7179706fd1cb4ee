package dev.virtiofsd.api.fs;

/**
 * One native memory buffer as a {@link SegmentList}, its length set per request: the request and
 * reply buffers of a /dev/fuse transport, or of a client of the dispatcher's own. Not thread-safe:
 * one per worker, reused for every request.
 */
public final class SingleSegment implements SegmentList {
    private final long address;
    private int length;

    public SingleSegment(long address, int length) {
        this.address = address;
        this.length = length;
    }

    /** Sets the length in bytes of the buffer's content (a request) or room (a reply). */
    public void setLength(int length) {
        this.length = length;
    }

    @Override
    public int count() {
        return 1;
    }

    @Override
    public long address(int i) {
        return address;
    }

    @Override
    public int length(int i) {
        return length;
    }

    @Override
    public long totalLength() {
        return length;
    }
}
