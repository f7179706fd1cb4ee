package dev.virtiofsd.fuse.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.virtiofsd.linux.NativeMemory;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The byte-stream helpers the decoder reads requests and writes replies with: every offset,
 * segment edge and short stream, against segments framed by guard bytes.
 */
class SegmentsTest {
    private static final byte[] DATA = "0123456789abcdefghij".getBytes(StandardCharsets.US_ASCII);
    private final long buf = NativeMemory.allocate(64);

    @AfterEach
    void free() {
        NativeMemory.free(buf);
    }

    private byte[] bufBytes(int n) {
        byte[] b = new byte[n];
        NativeMemory.getBytes(buf, b, 0, n);
        return b;
    }

    @Test
    void totalAddsEveryLength() {
        TestSegments s = TestSegments.ofLengths(3, 0, 5);
        assertEquals(8, Segments.total(s));
    }

    @Test
    void copyInFromEveryOffsetAcrossSegmentEdges() {
        TestSegments s = TestSegments.split(DATA, 4, 6, 3);
        for (int off = 0; off <= DATA.length; off++) {
            for (int len = 0; len <= DATA.length - off; len++) {
                NativeMemory.fill(buf, 64, (byte) 0);
                assertEquals(len, Segments.copyIn(s, off, buf, len), "off " + off + " len " + len);
                assertArrayEquals(Arrays.copyOfRange(DATA, off, off + len), bufBytes(len), "off " + off);
            }
        }
        s.assertGuardsIntact();
    }

    @Test
    void copyInStopsAtTheEndOfTheStream() {
        SegmentView v = new SegmentView().set(TestSegments.split(DATA, 4, 6), 0, DATA.length);
        assertEquals(6, Segments.copyIn(v, 14, buf, 40));
        assertArrayEquals(Arrays.copyOfRange(DATA, 14, 20), bufBytes(6));
        assertEquals(0, Segments.copyIn(v, 20, buf, 1));
        assertEquals(0, Segments.copyIn(v, 25, buf, 1));
    }

    @Test
    void copyOutToEveryOffsetAcrossSegmentEdges() {
        NativeMemory.putBytes(buf, DATA, 0, DATA.length);
        for (int off = 0; off <= DATA.length; off++) {
            for (int len = 0; len <= DATA.length - off; len++) {
                TestSegments s = TestSegments.ofLengths(4, 6, 3, 7);
                assertEquals(len, Segments.copyOut(buf, s, off, len), "off " + off + " len " + len);
                byte[] want = new byte[DATA.length];
                Arrays.fill(want, TestSegments.FILL_BYTE);
                System.arraycopy(DATA, 0, want, off, len);
                assertArrayEquals(want, s.bytes(), "off " + off + " len " + len);
                s.assertGuardsIntact();
            }
        }
    }

    @Test
    void copyOutStopsAtTheEndOfTheStream() {
        NativeMemory.putBytes(buf, DATA, 0, DATA.length);
        TestSegments s = TestSegments.ofLengths(3, 2);
        SegmentView v = new SegmentView().set(s, 0, 5);
        assertEquals(2, Segments.copyOut(buf, v, 3, 10));
        assertEquals(0, Segments.copyOut(buf, v, 5, 10));
        s.assertGuardsIntact();
    }

    @Test
    void viewSkipsAndLimits() {
        TestSegments s = TestSegments.ofLengths(4, 6, 3);
        SegmentView v = new SegmentView();
        assertSame(v, v.set(s, 5, 3));
        assertEquals(1, v.count());
        assertEquals(s.address(1) + 1, v.address(0));
        assertEquals(3, v.length(0));
        assertEquals(3, v.totalLength());

        v.set(s, 2, 100);
        assertEquals(3, v.count());
        assertEquals(s.address(0) + 2, v.address(0));
        assertEquals(2, v.length(0));
        assertEquals(6, v.length(1));
        assertEquals(3, v.length(2));
        assertEquals(11, v.totalLength());

        v.set(s, 4, 6); // ends exactly at a segment edge: no empty segment after it
        assertEquals(1, v.count());
        assertEquals(6, v.totalLength());

        v.set(s, 0, 0);
        assertEquals(0, v.count());
        assertEquals(0, v.totalLength());
    }

    @Test
    void viewRefusesIndexesOutsideIt() {
        SegmentView v = new SegmentView().set(TestSegments.ofLengths(4, 6), 0, 10);
        assertThrows(IndexOutOfBoundsException.class, () -> v.address(2));
        assertThrows(IndexOutOfBoundsException.class, () -> v.length(2));
        assertThrows(IndexOutOfBoundsException.class, () -> v.address(-1));
        assertThrows(IndexOutOfBoundsException.class, () -> v.length(-1));
        v.clear();
        assertThrows(IndexOutOfBoundsException.class, () -> v.address(0));
    }

    @Test
    void viewGrowsPastItsFirstCapacity() {
        int[] lens = new int[40];
        for (int i = 0; i < lens.length; i++) {
            lens[i] = i + 1;
        }
        TestSegments s = TestSegments.ofLengths(lens);
        SegmentView v = new SegmentView().set(s, 0, Long.MAX_VALUE);
        assertEquals(40, v.count());
        for (int i = 0; i < 40; i++) {
            assertEquals(s.address(i), v.address(i));
            assertEquals(i + 1, v.length(i));
        }
        assertEquals(40 * 41 / 2, v.totalLength());
    }

    @Test
    void opcodeNamesOutsideTheTableAreNumbers() {
        assertEquals("0", FuseProtocol.name(0));
        assertEquals("-1", FuseProtocol.name(-1));
        assertEquals(Integer.toString(FuseProtocol.OPCODE_SLOTS), FuseProtocol.name(FuseProtocol.OPCODE_SLOTS));
        assertEquals("LOOKUP", FuseProtocol.name(1));
    }
}
