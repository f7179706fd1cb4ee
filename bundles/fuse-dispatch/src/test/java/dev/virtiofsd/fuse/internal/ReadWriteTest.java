package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.api.fs.InitFlags.*;
import static dev.virtiofsd.fuse.internal.FuseProtocol.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.Errno;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ReadWriteTest extends Fixture {

    @BeforeEach
    void initSession() {
        init(38);
        fs.calls.clear();
        fs.fileData = new byte[300_000];
        for (int i = 0; i < fs.fileData.length; i++) {
            fs.fileData[i] = (byte) (i * 31 + 7);
        }
    }

    private static byte[] readReq(long offset, int size) {
        return Req.op(READ, 5)
                .u64(9)
                .u64(offset)
                .u32(size)
                .u32(0)
                .u64(0)
                .u32(0)
                .u32(0)
                .build();
    }

    @Test
    void readGoesStraightIntoOutSegmentsAfterTheHeader() {
        Reply r = send(readReq(10, 1000), IN_CUTS, 7, 9, 100, 50, 2000).assertOk(1000);
        assertEquals("read 5 fh=9 off=10 size=1000", fs.last());
        assertArrayEquals(Arrays.copyOfRange(fs.fileData, 10, 1010), r.body());
        // zero copy: the fs was given the reply's own memory, starting exactly after the 16-byte header
        assertEquals(3, fs.lastReadCount);
        assertEquals(r.out.address(2), fs.lastReadDst[0][0]);
        assertEquals(100, fs.lastReadDst[1][0]);
        assertEquals(50, fs.lastReadDst[1][1]);
        assertEquals(850, fs.lastReadDst[1][2]);
    }

    @Test
    void readHeaderOffsetInsideASegment() {
        Reply r = send(readReq(0, 64), IN_CUTS, 20, 60).assertOk(64);
        assertEquals(r.out.address(0) + 16, fs.lastReadDst[0][0]);
        assertEquals(4, fs.lastReadDst[1][0]);
        assertArrayEquals(Arrays.copyOfRange(fs.fileData, 0, 64), r.body());
    }

    @Test
    void readIsCappedByOutSpaceAndMaxWrite() {
        send(readReq(0, 5000), IN_CUTS, 10, 6, 1000).assertOk(1000);
        assertEquals("read 5 fh=9 off=0 size=1000", fs.last());
        send(readReq(0, 1 << 20), IN_CUTS, 16, 1 << 20).assertOk(MAX_WRITE);
        assertEquals("read 5 fh=9 off=0 size=" + MAX_WRITE, fs.last());
    }

    @Test
    void shortReadAtEof() {
        Reply r = send(readReq(fs.fileData.length - 10, 4096)).assertOk(10);
        assertArrayEquals(Arrays.copyOfRange(fs.fileData, fs.fileData.length - 10, fs.fileData.length), r.body());
    }

    @Test
    void writePayloadIsHandedOverAsSegments() {
        byte[] payload = new byte[5000];
        for (int i = 0; i < payload.length; i++) {
            payload[i] = (byte) (i ^ 0x5c);
        }
        byte[] req = Req.op(WRITE, 6)
                .u64(9)
                .u64(4096)
                .u32(payload.length)
                .u32(WRITE_KILL_SUIDGID)
                .u64(0)
                .u32(0)
                .u32(0)
                .bytes(payload)
                .build();
        // header straddles, write_in straddles, payload spans several segments
        Reply r = send(req, new int[] {30, 25, 33, 1000, 7}).assertOk(8);
        assertEquals(5000, r.u32(0));
        assertEquals("write 6 fh=9 off=4096 len=5000 kill=true", fs.last());
        assertArrayEquals(payload, fs.lastWrite);
        assertTrue(fs.lastWriteSrc[0].length >= 3);
        for (int i = 0; i < fs.lastWriteSrc[0].length; i++) {
            assertTrue(
                    r.in.contains(fs.lastWriteSrc[0][i], (int) fs.lastWriteSrc[1][i]),
                    "payload segment " + i + " lies in the request's own memory");
        }
    }

    @Test
    void largeWriteBeyondCopyBuffer() {
        byte[] payload = new byte[MAX_WRITE];
        Arrays.fill(payload, (byte) 3);
        byte[] req = Req.op(WRITE, 6)
                .u64(9)
                .u64(0)
                .u32(payload.length)
                .u32(0)
                .u64(0)
                .u32(0)
                .u32(0)
                .bytes(payload)
                .build();
        send(req, new int[] {80, 4096, 4096}).assertOk(8);
        assertArrayEquals(payload, fs.lastWrite);
    }

    @Test
    void writeSizeBeyondPayloadIsEinval() {
        byte[] req = Req.op(WRITE, 6)
                .u64(9)
                .u64(0)
                .u32(100)
                .u32(0)
                .u64(0)
                .u32(0)
                .u32(0)
                .zeros(50)
                .build();
        send(req).assertError(Errno.EINVAL);
        assertTrue(fs.calls.isEmpty());
    }
}
