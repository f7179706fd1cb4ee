package dev.virtiofsd.fuse.internal;

import dev.virtiofsd.api.fs.SegmentList;
import dev.virtiofsd.linux.NativeMemory;

/** Copies between a segment list, read as one byte stream, and a contiguous native buffer. */
final class Segments {
    private Segments() {}

    /** Sum of the segment lengths; a negative length (a transport bug) counts as empty. */
    static long total(SegmentList list) {
        long t = 0;
        for (int i = 0, n = list.count(); i < n; i++) {
            int len = list.length(i);
            if (len > 0) {
                t += len;
            }
        }
        return t;
    }

    /**
     * Copies {@code len} bytes starting at stream offset {@code offset} of {@code src} to {@code dst};
     * returns the bytes copied (fewer when the stream ends first).
     */
    static long copyIn(SegmentList src, long offset, long dst, long len) {
        long done = 0;
        for (int i = 0, n = src.count(); i < n && done < len; i++) {
            long segLen = Math.max(0, src.length(i));
            if (offset >= segLen) {
                offset -= segLen;
                continue;
            }
            long c = Math.min(segLen - offset, len - done);
            NativeMemory.copy(src.address(i) + offset, dst + done, c);
            done += c;
            offset = 0;
        }
        return done;
    }

    /**
     * Copies {@code len} bytes from {@code src} to stream offset {@code offset} of {@code dst};
     * returns the bytes copied (fewer when the stream ends first).
     */
    static long copyOut(long src, SegmentList dst, long offset, long len) {
        long done = 0;
        for (int i = 0, n = dst.count(); i < n && done < len; i++) {
            long segLen = Math.max(0, dst.length(i));
            if (offset >= segLen) {
                offset -= segLen;
                continue;
            }
            long c = Math.min(segLen - offset, len - done);
            NativeMemory.copy(src + done, dst.address(i) + offset, c);
            done += c;
            offset = 0;
        }
        return done;
    }
}
