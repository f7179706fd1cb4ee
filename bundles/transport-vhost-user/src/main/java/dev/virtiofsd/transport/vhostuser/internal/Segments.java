package dev.virtiofsd.transport.vhostuser.internal;

import dev.virtiofsd.api.fs.SegmentList;
import dev.virtiofsd.linux.NativeMemory;
import java.util.Arrays;

/** A reusable scatter-gather list of host addresses into guest memory. */
public final class Segments implements SegmentList {
    private long[] address;
    private int[] length;
    private int count;

    public Segments(int capacity) {
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
    public void copyFrom(Segments other) {
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

    /** The FUSE opcode (u32 at byte 4 of the in header), or -1 if the stream is too short. */
    public long opcode() {
        if (count > 0 && length[0] >= 8) {
            return NativeMemory.getInt(address[0] + 4) & 0xffffffffL;
        }
        return readU32(4);
    }

    /** Reads a little-endian u32 at byte {@code offset} of the stream, or -1 if it is too short. */
    public long readU32(long offset) {
        long v = 0;
        for (int b = 0; b < 4; b++) {
            int x = byteAt(offset + b);
            if (x < 0) {
                return -1;
            }
            v |= (long) x << (8 * b);
        }
        return v;
    }

    /** Reads a little-endian u64 at byte {@code offset}, or 0 if it is too short. */
    public long readU64(long offset) {
        long lo = readU32(offset);
        long hi = readU32(offset + 4);
        if (lo < 0 || hi < 0) {
            return 0;
        }
        return lo | hi << 32;
    }

    private int byteAt(long offset) {
        long off = offset;
        for (int i = 0; i < count; i++) {
            if (off < length[i]) {
                return NativeMemory.getByte(address[i] + off) & 0xff;
            }
            off -= length[i];
        }
        return -1;
    }

    /** Writes {@code len} bytes from {@code src} at the start of the stream; false if too short. */
    public boolean writeAtStart(long src, int len) {
        if (totalLength() < len) {
            return false;
        }
        int done = 0;
        for (int i = 0; i < count && done < len; i++) {
            int n = Math.min(length[i], len - done);
            NativeMemory.copy(src + done, address[i], n);
            done += n;
        }
        return true;
    }
}
