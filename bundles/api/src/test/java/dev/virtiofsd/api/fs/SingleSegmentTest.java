package dev.virtiofsd.api.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SingleSegmentTest {
    @Test
    void oneSegmentWhoseLengthIsSetPerRequest() {
        SingleSegment s = new SingleSegment(0x1000, 40);
        assertEquals(1, s.count());
        assertEquals(0x1000, s.address(0));
        assertEquals(40, s.length(0));
        assertEquals(40, s.totalLength());
        s.setLength(4096);
        assertEquals(4096, s.length(0));
        assertEquals(4096, s.totalLength());
        assertEquals(0x1000, s.address(0), "the buffer stays");
    }
}
