package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.fuse.internal.FuseProtocol.*;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.fs.Attr;
import dev.virtiofsd.api.fs.AttrOut;
import dev.virtiofsd.api.fs.DirSink;
import dev.virtiofsd.api.fs.EntryOut;
import dev.virtiofsd.api.fs.OpenOut;
import dev.virtiofsd.api.fs.SegmentList;
import dev.virtiofsd.linux.NativeMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Encoding of one FUSE reply: handlers write the body into this worker's native buffer (at
 * {@link #body}), {@link #finish} adds the out header and copies it to the transport's segments.
 * READ data is the exception: it lands in the segments directly ({@link #dataInOut}).
 */
final class ReplyEncoder {
    /** Largest reply body encoded in the worker buffer (xattr values and lists, READDIR, READLINK). */
    static final int DATA_CAP = 65536 + 4096;

    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final FuseSessionImpl session;
    /** The request being answered, for log lines. */
    private final RequestDecoder request;

    final ByteBuffer buf;
    private final long rep;
    /** Native address of the body (right after the out header). */
    final long body;

    final DirEntries dir = new DirEntries();

    // the reply being written
    SegmentList out;
    long outTotal;
    /** The reply body was written straight into the out segments (READ). */
    boolean dataInOut;

    ReplyEncoder(FuseSessionImpl session, RequestDecoder request) {
        this.session = session;
        this.request = request;
        this.buf = ByteBuffer.allocateDirect(OUT_HEADER + DATA_CAP).order(ByteOrder.nativeOrder());
        this.rep = NativeMemory.address(buf);
        this.body = rep + OUT_HEADER;
    }

    /** Starts a reply into {@code out}; its size is measured by {@link #measure()}. */
    void clear(SegmentList out) {
        this.out = out;
        dataInOut = false;
        outTotal = 0; // until measured: a failure before that must not reply into stale space
    }

    void measure() {
        outTotal = Segments.total(out);
    }

    /** An error reply (only the header) to a request that is not served; returns its length or 0. */
    int errorOnly(SegmentList to, long unique, int errno) {
        if (Segments.total(to) < OUT_HEADER) {
            return 0;
        }
        buf.putInt(0, OUT_HEADER);
        buf.putInt(4, -Math.abs(errno));
        buf.putLong(8, unique);
        Segments.copyOut(rep, to, 0, OUT_HEADER);
        return OUT_HEADER;
    }

    /** Writes the out header (and body unless it is already in place); returns the reply length. */
    int finish(int r) {
        if (outTotal < OUT_HEADER) {
            Operations.LOG.debug(
                    "{} request {}: reply space of {} bytes cannot hold a reply header; no reply",
                    name(request.opcode),
                    request.unique,
                    outTotal);
            return 0;
        }
        int len = r < 0 ? OUT_HEADER : OUT_HEADER + r;
        if (len > outTotal) {
            // handlers check the space before calling the filesystem; this is a last guard
            Operations.LOG.debug(
                    "{} request {}: reply of {} bytes exceeds reply space {}",
                    name(request.opcode),
                    request.unique,
                    len,
                    outTotal);
            r = -Errno.EIO;
            len = OUT_HEADER;
        }
        buf.putInt(0, len);
        buf.putInt(4, r < 0 ? r : 0);
        buf.putLong(8, request.unique);
        Segments.copyOut(rep, out, 0, r < 0 || dataInOut ? OUT_HEADER : len);
        return len;
    }

    boolean room(int bodyLen) {
        return outTotal >= OUT_HEADER + (long) bodyLen;
    }

    int outTooSmall(int bodyLen) {
        Operations.LOG.debug(
                "{} request {}: reply space {} bytes, {} needed",
                name(request.opcode),
                request.unique,
                outTotal,
                OUT_HEADER + bodyLen);
        return -Errno.EIO;
    }

    /** A length the filesystem returned must lie in [0, cap]. */
    int checkedLength(int n, int cap) {
        if (n < 0 || n > cap) {
            return badResult(n);
        }
        return n;
    }

    int badResult(long n) {
        Operations.LOG.warn(
                "{} request {} on node {}: filesystem returned {}",
                name(request.opcode),
                request.unique,
                request.nodeId,
                n);
        return -Errno.EIO;
    }

    void putEntry(int off, EntryOut e) {
        buf.putLong(off, e.nodeId);
        buf.putLong(off + 8, e.generation);
        buf.putLong(off + 16, seconds(e.entryTimeoutNanos));
        buf.putLong(off + 24, seconds(e.attrTimeoutNanos));
        buf.putInt(off + 32, subsecondNanos(e.entryTimeoutNanos));
        buf.putInt(off + 36, subsecondNanos(e.attrTimeoutNanos));
        putAttr(off + 40, e.attr);
    }

    void putAttrOut(int off, AttrOut a) {
        buf.putLong(off, seconds(a.attrTimeoutNanos));
        buf.putInt(off + 8, subsecondNanos(a.attrTimeoutNanos));
        buf.putInt(off + 12, 0);
        putAttr(off + 16, a.attr);
    }

    void putAttr(int off, Attr a) {
        buf.putLong(off, a.ino);
        buf.putLong(off + 8, a.size);
        buf.putLong(off + 16, a.blocks);
        buf.putLong(off + 24, a.atime);
        buf.putLong(off + 32, a.mtime);
        buf.putLong(off + 40, a.ctime);
        buf.putInt(off + 48, a.atimensec);
        buf.putInt(off + 52, a.mtimensec);
        buf.putInt(off + 56, a.ctimensec);
        buf.putInt(off + 60, a.mode);
        buf.putInt(off + 64, a.nlink);
        buf.putInt(off + 68, a.uid);
        buf.putInt(off + 72, a.gid);
        buf.putInt(off + 76, a.rdev);
        buf.putInt(off + 80, a.blksize);
        // fuse_attr.flags exists from 7.32; before, the word is padding
        buf.putInt(off + 84, session.minor() >= 32 ? a.flags : 0);
    }

    void putOpen(int off, OpenOut o) {
        buf.putLong(off, o.fh);
        buf.putInt(off + 8, o.openFlags);
        buf.putInt(off + 12, 0);
    }

    private static long seconds(long nanos) {
        return nanos <= 0 ? 0 : nanos / NANOS_PER_SECOND;
    }

    private static int subsecondNanos(long nanos) {
        return nanos <= 0 ? 0 : (int) (nanos % NANOS_PER_SECOND);
    }

    /** Packs fuse_dirent / fuse_direntplus records, 8-byte aligned, into the reply buffer. */
    final class DirEntries implements DirSink {
        private final EntryOut scratch = new EntryOut();
        private boolean plus;
        private int cap;
        int used;

        void reset(boolean plus, int cap) {
            this.plus = plus;
            this.cap = Math.max(0, cap);
            this.used = 0;
            scratch.clear();
        }

        private int recordSize(int nameLen) {
            return ((plus ? ENTRY_OUT : 0) + DIRENT + nameLen + 7) & ~7;
        }

        @Override
        public boolean plus() {
            return plus;
        }

        @Override
        public boolean fits(int nameLen) {
            return nameLen > 0 && nameLen <= NAME_MAX && recordSize(nameLen) <= cap - used;
        }

        @Override
        public EntryOut entry() {
            return scratch;
        }

        @Override
        public void add(long ino, long nextOffset, int type, long nameAddress, int nameLength) {
            if (!fits(nameLength)) {
                // the filesystem did not ask fits() first: dropping is the only safe thing
                Operations.LOG.debug(
                        "READDIR request {}: entry of {} name bytes does not fit; dropped", request.unique, nameLength);
                scratch.clear();
                return;
            }
            int p = OUT_HEADER + used;
            int size = recordSize(nameLength);
            if (plus) {
                if (RequestDecoder.isDots(nameAddress, nameLength)) {
                    // no lookup for "." and "..": nodeid 0 tells the kernel to use no entry data
                    NativeMemory.fill(rep + p, ENTRY_OUT, (byte) 0);
                    buf.putLong(p + 40, ino);
                    buf.putInt(p + 40 + 60, type << 12);
                } else {
                    putEntry(p, scratch);
                }
                p += ENTRY_OUT;
            }
            buf.putLong(p, ino);
            buf.putLong(p + 8, nextOffset);
            buf.putInt(p + 16, nameLength);
            buf.putInt(p + 20, type);
            NativeMemory.copy(nameAddress, rep + p + DIRENT, nameLength);
            int end = OUT_HEADER + used + size;
            int nameEnd = p + DIRENT + nameLength;
            if (end > nameEnd) {
                NativeMemory.fill(rep + nameEnd, end - nameEnd, (byte) 0);
            }
            used += size;
            scratch.clear();
        }
    }
}
