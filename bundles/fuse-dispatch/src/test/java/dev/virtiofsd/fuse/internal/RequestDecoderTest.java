package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.fuse.internal.FuseProtocol.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.fs.RequestContext;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The decoder's own results at the boundaries the dispatch tests cannot tell apart by the reply alone. */
class RequestDecoderTest extends Fixture {
    private final RequestDecoder decoder = new RequestDecoder((FuseSessionImpl) session);
    private final RequestContext ctx = new RequestContext();

    private int header(byte[] request) {
        decoder.clear(TestSegments.split(request, IN_CUTS));
        return decoder.readHeader(ctx);
    }

    @Test
    void aHeaderLenOtherThanTheBytesPresentIsEinval() {
        init(38);
        assertEquals(0, header(Req.op(LOOKUP, 1).str("name").build()));
        assertEquals(-Errno.EINVAL, header(Req.op(LOOKUP, 1).str("name").len(46).build()));
        assertEquals(-Errno.EINVAL, header(Req.op(LOOKUP, 1).str("name").len(44).build()));
    }

    @Test
    void onlyACreationCopiesItsExtensionIn() {
        init(38);
        byte[] ext = SecurityContextTest.secctx("security.selinux", "lbl", 3);
        assertEquals(
                0,
                header(Req.op(LOOKUP, 1)
                        .str("name")
                        .zeros(3)
                        .bytes(ext)
                        .headerTail(ext.length / 8)
                        .build()));
        assertEquals(0, decoder.readArguments());
        assertEquals(8, decoder.argLen);
        assertEquals(0, decoder.extLen, "a LOOKUP's extension is not read");
        assertEquals(
                0,
                header(Req.op(MKDIR, 1)
                        .u32(0755)
                        .u32(0)
                        .str("d")
                        .zeros(6)
                        .bytes(ext)
                        .headerTail(ext.length / 8)
                        .build()));
        assertEquals(0, decoder.readArguments());
        assertEquals(16, decoder.argLen);
        assertEquals(ext.length, decoder.extLen);
    }

    @Test
    void argumentsLargerThanTheBufferAreEinval() {
        init(38);
        assertEquals(
                0, header(Req.op(STATFS, 1).zeros(RequestDecoder.ARGS_CAP + 1).build()));
        assertEquals(-Errno.EINVAL, decoder.readArguments());
    }

    @Test
    void peekingAShortHeaderGivesMinusOne() {
        byte[] getattr = Req.op(GETATTR, 1).u32(0).u32(0).u64(0).build();
        assertEquals(-1, decoder.peekOpcode(TestSegments.split(Arrays.copyOf(getattr, IN_HEADER - 1), 7)));
        assertEquals(GETATTR, decoder.peekOpcode(TestSegments.split(Arrays.copyOf(getattr, IN_HEADER), 7)));
    }
}
