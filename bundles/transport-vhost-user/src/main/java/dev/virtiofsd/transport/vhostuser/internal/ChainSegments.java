package dev.virtiofsd.transport.vhostuser.internal;

import dev.virtiofsd.api.fs.SegmentList;
import java.util.Arrays;

/**
 * The readable or the writable part of one descriptor chain, as a reusable scatter-gather list of
 * host addresses into mapped guest memory. Grows a few times per thread at most; steady state
 * allocates nothing.
 */
public final class ChainSegments implements SegmentList {
    private long[] address;
    private int[] length;
    private int count;

    public ChainSegments(int capacity) {
        address = new long[capacity];
        length = new int[capacity];
    }

    public void clear() {
        count = 0;
    }

    public void add(long a, int len) {
        if (count == address.length) {
            // Grows once per thread at most a few times; steady state allocates nothing.
            address = Arrays.copyOf(address, count * 2);
            length = Arrays.copyOf(length, count * 2);
        }
        address[count] = a;
        length[count] = len;
        count++;
    }

    /** Makes this list a copy of {@code other}. */
    public void copyFrom(ChainSegments other) {
        clear();
        for (int i = 0; i < other.count; i++) {
            add(other.address[i], other.length[i]);
        }
    }

    @Override
    public int count() {
        return count;
    }

    @Override
    public long address(int i) {
        return address[i];
    }

    @Override
    public int length(int i) {
        return length[i];
    }
}
