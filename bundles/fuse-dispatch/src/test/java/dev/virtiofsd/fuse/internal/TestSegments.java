package dev.virtiofsd.fuse.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.virtiofsd.api.fs.SegmentList;
import dev.virtiofsd.linux.NativeMemory;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Segments in native memory, each allocated on its own (so they are never contiguous) and framed
 * by guard bytes that must stay untouched: a read or write past a segment shows up in
 * {@link #assertGuardsIntact()}.
 */
final class TestSegments implements SegmentList {
    static final int GUARD = 32;
    static final byte GUARD_BYTE = (byte) 0xA5;
    static final byte FILL_BYTE = (byte) 0x5A;

    private final List<ByteBuffer> buffers = new ArrayList<>();
    private final long[] addresses;
    private final int[] lengths;

    private TestSegments(int[] lengths) {
        this.lengths = lengths.clone();
        this.addresses = new long[lengths.length];
        for (int i = 0; i < lengths.length; i++) {
            ByteBuffer b = ByteBuffer.allocateDirect(lengths[i] + 2 * GUARD);
            buffers.add(b);
            long base = NativeMemory.address(b);
            NativeMemory.fill(base, GUARD, GUARD_BYTE);
            NativeMemory.fill(base + GUARD, lengths[i], FILL_BYTE);
            NativeMemory.fill(base + GUARD + lengths[i], GUARD, GUARD_BYTE);
            addresses[i] = base + GUARD;
        }
    }

    /** Writable segments of the given lengths, filled with {@link #FILL_BYTE}. */
    static TestSegments ofLengths(int... lengths) {
        return new TestSegments(lengths);
    }

    /** {@code data} split after each of {@code cuts} bytes (segment lengths); the rest forms the last segment. */
    static TestSegments split(byte[] data, int... cuts) {
        List<Integer> lens = new ArrayList<>();
        int used = 0;
        for (int c : cuts) {
            int l = Math.min(c, data.length - used);
            lens.add(l);
            used += l;
        }
        if (used < data.length || lens.isEmpty()) {
            lens.add(data.length - used);
        }
        TestSegments s =
                new TestSegments(lens.stream().mapToInt(Integer::intValue).toArray());
        int off = 0;
        for (int i = 0; i < s.lengths.length; i++) {
            NativeMemory.putBytes(s.addresses[i], data, off, s.lengths[i]);
            off += s.lengths[i];
        }
        return s;
    }

    /** The whole stream as bytes. */
    byte[] bytes() {
        byte[] all = new byte[(int) totalLength()];
        int off = 0;
        for (int i = 0; i < lengths.length; i++) {
            NativeMemory.getBytes(addresses[i], all, off, lengths[i]);
            off += lengths[i];
        }
        return all;
    }

    void assertGuardsIntact() {
        for (int i = 0; i < lengths.length; i++) {
            for (int g = 1; g <= GUARD; g++) {
                assertEquals(GUARD_BYTE, NativeMemory.getByte(addresses[i] - g), "guard before segment " + i);
                assertEquals(
                        GUARD_BYTE,
                        NativeMemory.getByte(addresses[i] + lengths[i] + g - 1),
                        "guard after segment " + i);
            }
        }
    }

    /** Whether {@code [a, a+len)} lies inside one of the segments. */
    boolean contains(long a, int len) {
        for (int i = 0; i < lengths.length; i++) {
            if (a >= addresses[i] && a + len <= addresses[i] + lengths[i]) {
                return true;
            }
        }
        return false;
    }

    @Override
    public int count() {
        return lengths.length;
    }

    @Override
    public long address(int i) {
        return addresses[i];
    }

    @Override
    public int length(int i) {
        return lengths[i];
    }
}
