package dev.virtiofsd.fuse.internal;

import dev.virtiofsd.api.fs.SegmentList;
import java.util.Arrays;

/**
 * A window {@code [skip, skip+limit)} of another segment list's byte stream, without copying:
 * how READ data lands straight in the reply segments and WRITE data is handed over from the
 * request segments. Reused by one worker; grows only when a request has more segments than seen
 * before.
 */
final class SegmentView implements SegmentList {
    private long[] addresses = new long[16];
    private int[] lengths = new int[16];
    private int count;

    /** Re-points the view; returns this. */
    SegmentView set(SegmentList base, long skip, long limit) {
        count = 0;
        for (int i = 0, n = base.count(); i < n && limit > 0; i++) {
            long segLen = Math.max(0, base.length(i));
            if (skip >= segLen) {
                skip -= segLen;
                continue;
            }
            int c = (int) Math.min(segLen - skip, limit);
            if (count == addresses.length) {
                addresses = Arrays.copyOf(addresses, count * 2);
                lengths = Arrays.copyOf(lengths, count * 2);
            }
            addresses[count] = base.address(i) + skip;
            lengths[count] = c;
            count++;
            limit -= c;
            skip = 0;
        }
        return this;
    }

    /** Drops the references so nothing outlives the request. */
    void clear() {
        count = 0;
    }

    @Override
    public int count() {
        return count;
    }

    @Override
    public long address(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException(i);
        }
        return addresses[i];
    }

    @Override
    public int length(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException(i);
        }
        return lengths[i];
    }

    @Override
    public long totalLength() {
        long t = 0;
        for (int i = 0; i < count; i++) {
            t += lengths[i];
        }
        return t;
    }
}
