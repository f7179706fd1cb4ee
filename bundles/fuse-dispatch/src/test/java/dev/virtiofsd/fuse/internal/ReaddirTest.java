package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.api.fs.InitFlags.*;
import static dev.virtiofsd.fuse.internal.FuseProtocol.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ReaddirTest extends Fixture {

    @BeforeEach
    void initSession() {
        init(38);
        fs.calls.clear();
    }

    private static byte[] req(int opcode, long offset, int size) {
        return Req.op(opcode, 2)
                .u64(600)
                .u64(offset)
                .u32(size)
                .u32(0)
                .u64(0)
                .u32(0)
                .u32(0)
                .build();
    }

    record Dirent(long ino, long off, int type, String name, long nodeId, long entryIno, int entryMode) {}

    /** Parses the packed records, checking alignment and padding. */
    static List<Dirent> parse(byte[] body, boolean plus) {
        ByteBuffer b = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN);
        List<Dirent> out = new ArrayList<>();
        int p = 0;
        while (p < body.length) {
            long nodeId = 0;
            long entryIno = 0;
            int entryMode = 0;
            int start = p;
            if (plus) {
                nodeId = b.getLong(p);
                entryIno = b.getLong(p + 40);
                entryMode = b.getInt(p + 40 + 60);
                p += 128;
            }
            long ino = b.getLong(p);
            long off = b.getLong(p + 8);
            int len = b.getInt(p + 16);
            int type = b.getInt(p + 20);
            String name = new String(body, p + 24, len, StandardCharsets.UTF_8);
            int end = start + (((plus ? 128 : 0) + 24 + len + 7) & ~7);
            for (int i = p + 24 + len; i < end; i++) {
                assertEquals(0, body[i], "padding is zero");
            }
            p = end;
            out.add(new Dirent(ino, off, type, name, nodeId, entryIno, entryMode));
        }
        assertEquals(body.length, p, "records end 8-byte aligned at the body's end");
        return out;
    }

    @Test
    void readdirPacksAlignedDirents() {
        Reply r = send(req(READDIR, 0, 4096));
        // 24+1 -> 32, 24+2 -> 32, 24+1 -> 32, 24+2 -> 32, 24+23 -> 48
        r.assertOk(32 * 4 + 48);
        List<Dirent> d = parse(r.body(), false);
        assertEquals(5, d.size());
        assertEquals(new Dirent(302, 3, 8, "a", 0, 0, 0), d.get(2));
        assertEquals("file-with-a-longer-name", d.get(4).name());
        assertEquals(5, d.get(4).off());
        assertEquals("readdir 2 fh=600 off=0 plus=false", fs.last());
    }

    @Test
    void readdirStopsAtRequestedSize() {
        Reply r = send(req(READDIR, 0, 100)).assertOk(96);
        assertEquals(3, parse(r.body(), false).size());
        // resume from the offset of the last entry returned
        r = send(req(READDIR, 3, 100)).assertOk(32 + 48);
        List<Dirent> d = parse(r.body(), false);
        assertEquals("bb", d.get(0).name());
        // too small for any entry: empty reply, which the kernel takes as the end
        send(req(READDIR, 0, 20)).assertOk(0);
    }

    @Test
    void readdirStopsAtOutSpace() {
        Reply r = send(req(READDIR, 0, 4096), IN_CUTS, 3, 13, 64).assertOk(64);
        assertEquals(2, parse(r.body(), false).size());
    }

    @Test
    void readdirplusCarriesEntriesAndZeroNodeForDots() {
        Reply r = send(req(READDIRPLUS, 0, 8192));
        List<Dirent> d = parse(r.body(), true);
        assertEquals(5, d.size());
        assertTrue(fs.lastReaddirPlus);
        Dirent dot = d.get(0);
        assertEquals(".", dot.name());
        assertEquals(0, dot.nodeId(), "no entry for .");
        assertEquals(300, dot.entryIno());
        assertEquals(8 << 12, dot.entryMode());
        assertEquals(0, d.get(1).nodeId(), "no entry for ..");
        assertEquals(202, d.get(2).nodeId());
        assertEquals(1202, d.get(2).entryIno());
        assertEquals(0100644, d.get(2).entryMode());
        assertEquals(304, d.get(4).ino());
        // entry timeouts encoded per record
        ByteBuffer b = ByteBuffer.wrap(r.body()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1, b.getLong(2 * 160 + 16));
    }

    @Test
    void readdirplusSizeLimit() {
        // 160 per short-name record: two fit in 400, not three
        Reply r = send(req(READDIRPLUS, 0, 400)).assertOk(320);
        assertEquals(2, parse(r.body(), true).size());
    }
}
