package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.api.fs.InitFlags.*;
import static dev.virtiofsd.fuse.internal.FuseProtocol.*;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.Attr;
import dev.virtiofsd.api.fs.AttrOut;
import dev.virtiofsd.api.fs.DirSink;
import dev.virtiofsd.api.fs.EntryOut;
import dev.virtiofsd.api.fs.FileLock;
import dev.virtiofsd.api.fs.FileSystem;
import dev.virtiofsd.api.fs.OpenOut;
import dev.virtiofsd.api.fs.RequestContext;
import dev.virtiofsd.api.fs.SegmentList;
import dev.virtiofsd.api.fs.SetattrIn;
import dev.virtiofsd.api.fs.StatfsOut;
import dev.virtiofsd.api.transport.FuseWorker;
import dev.virtiofsd.linux.NativeMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLongArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes one request, calls the filesystem, encodes the reply. Used by exactly one thread; every
 * buffer and reply object is its own and reused, so a request allocates nothing.
 *
 * <p>The request header and arguments are copied (bounded) into {@link #reqBuf}, a native buffer,
 * so that names can be handed to the filesystem by address and every field read is bounds-checked.
 * WRITE payloads and READ data are never copied: they move between the file and the transport's
 * segments through a {@link SegmentView}. All other replies are encoded in {@link #repBuf} and
 * copied to the reply segments.
 */
final class FuseWorkerImpl implements FuseWorker {
    private static final Logger LOG = LoggerFactory.getLogger(FuseWorkerImpl.class);

    /** Largest argument block (after the header) copied in: an xattr value of XATTR_SIZE_MAX plus name and struct. */
    static final int ARGS_CAP = 65536 + 4096;
    /** Largest reply body encoded in the worker buffer (xattr values and lists, READDIR, READLINK). */
    static final int DATA_CAP = 65536 + 4096;

    private static final int NO_REPLY = Integer.MIN_VALUE;
    /** EPROTO: not in {@link Errno}. */
    static final int EPROTO = 71;

    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    /** Kernel's own cap of one COPY_FILE_RANGE: UINT_MAX & PAGE_MASK (the reply size is a u32). */
    private static final long COPY_FILE_RANGE_MAX = 0xFFFFF000L;

    private static final int A = IN_HEADER;
    private static final int O = OUT_HEADER;

    private final FuseSessionImpl session;
    private final FileSystem fs;
    private final AtomicLongArray counts;

    private final ByteBuffer reqBuf;
    private final ByteBuffer repBuf;
    private final long req;
    private final long rep;

    private final RequestContext ctx = new RequestContext();
    private final EntryOut entry = new EntryOut();
    private final AttrOut attrOut = new AttrOut();
    private final OpenOut openOut = new OpenOut();
    private final SetattrIn setattrIn = new SetattrIn();
    private final StatfsOut statfsOut = new StatfsOut();
    private final FileLock lock = new FileLock();
    private final SegmentView view = new SegmentView();
    private final DirBuffer dir = new DirBuffer();

    // the request being served
    private SegmentList in;
    private SegmentList out;
    private long outTotal;
    private int opcode;
    private long unique;
    private long nodeId;
    /** Argument bytes after the header, extensions excluded; may exceed ARGS_CAP only for WRITE/BATCH_FORGET. */
    private long argTotal;
    /** {@code argTotal} where it is known to be copied in full. */
    private int argLen;
    /** Bytes of request extensions (7.38+) after the arguments; copied in after them for creations. */
    private int extLen;
    /** The reply body was written straight into the out segments (READ). */
    private boolean dataInOut;

    FuseWorkerImpl(FuseSessionImpl session, FileSystem fs, AtomicLongArray counts) {
        this.session = session;
        this.fs = fs;
        this.counts = counts;
        // direct buffers: freed by the GC with the worker, no close() needed in the FuseWorker contract
        this.reqBuf = ByteBuffer.allocateDirect(IN_HEADER + ARGS_CAP).order(ByteOrder.nativeOrder());
        this.repBuf = ByteBuffer.allocateDirect(OUT_HEADER + DATA_CAP).order(ByteOrder.nativeOrder());
        this.req = NativeMemory.address(reqBuf);
        this.rep = NativeMemory.address(repBuf);
    }

    @Override
    public int handle(SegmentList in, SegmentList out) {
        this.in = in;
        this.out = out;
        opcode = 0;
        unique = 0;
        nodeId = 0;
        argTotal = 0;
        argLen = 0;
        extLen = 0;
        dataInOut = false;
        outTotal = 0; // until measured: a failure before that must not reply into stale space
        try {
            outTotal = Segments.total(out);
            int r = dispatch();
            return r == NO_REPLY ? 0 : reply(r);
        } catch (Throwable t) {
            // a bug here, not in the filesystem (its calls are wrapped): never let it kill the transport's thread
            LOG.warn("internal error serving {} request {}: {}", name(opcode), unique, t.toString());
            LOG.debug("internal error details", t);
            if (noReply(opcode)) {
                return 0;
            }
            try {
                dataInOut = false;
                return reply(-Errno.EIO);
            } catch (Throwable t2) {
                return 0;
            }
        } finally {
            view.clear();
            this.in = null;
            this.out = null;
        }
    }

    @Override
    public boolean mayBlock(SegmentList in) {
        // the opcode is the u32 at byte 4 of the header; a short header is not ours to sleep on
        if (Segments.total(in) < IN_HEADER) {
            return false;
        }
        Segments.copyIn(in, 4, req + 4, 4);
        return reqBuf.getInt(4) == SETLKW;
    }

    @Override
    public int replyError(SegmentList in, SegmentList out, int errno) {
        NativeMemory.fill(req, IN_HEADER, (byte) 0);
        long readable = Segments.copyIn(in, 0, req, IN_HEADER);
        if (noReply(reqBuf.getInt(4)) || Segments.total(out) < OUT_HEADER) {
            return 0;
        }
        repBuf.putInt(0, OUT_HEADER);
        repBuf.putInt(4, -Math.abs(errno));
        // a unique cut short is no unique: 0 rather than a mix of its bytes and ours
        repBuf.putLong(8, readable >= 16 ? reqBuf.getLong(8) : 0);
        Segments.copyOut(rep, out, 0, OUT_HEADER);
        return OUT_HEADER;
    }

    /** Writes the out header (and body unless it is already in place); returns the reply length. */
    private int reply(int r) {
        if (outTotal < OUT_HEADER) {
            LOG.debug(
                    "{} request {}: reply space of {} bytes cannot hold a reply header; no reply",
                    name(opcode),
                    unique,
                    outTotal);
            return 0;
        }
        int len = r < 0 ? OUT_HEADER : OUT_HEADER + r;
        if (len > outTotal) {
            // handlers check the space before calling the filesystem; this is a last guard
            LOG.debug("{} request {}: reply of {} bytes exceeds reply space {}", name(opcode), unique, len, outTotal);
            r = -Errno.EIO;
            len = OUT_HEADER;
        }
        repBuf.putInt(0, len);
        repBuf.putInt(4, r < 0 ? r : 0);
        repBuf.putLong(8, unique);
        Segments.copyOut(rep, out, 0, r < 0 || dataInOut ? OUT_HEADER : len);
        return len;
    }

    private int dispatch() {
        long inTotal = Segments.total(in);
        int hdr = (int) Math.min(inTotal, IN_HEADER);
        if (hdr < IN_HEADER) {
            NativeMemory.fill(req, IN_HEADER, (byte) 0);
        }
        Segments.copyIn(in, 0, req, hdr);
        long len = reqBuf.getInt(0) & 0xffffffffL;
        opcode = reqBuf.getInt(4);
        unique = reqBuf.getLong(8);
        nodeId = reqBuf.getLong(16);
        count(opcode);
        if (hdr < IN_HEADER) {
            return malformed("short header: " + inTotal + " bytes");
        }
        if (len != inTotal) {
            return malformed("header len " + len + " but " + inTotal + " readable bytes");
        }
        // 7.38 split the header's last u32 into total_extlen and padding; before, it is padding to ignore
        long extBytes = session.minor() >= EXTLEN_MINOR ? (reqBuf.getShort(36) & 0xffff) * 8L : 0;
        argTotal = len - IN_HEADER - extBytes;
        if (argTotal < 0) {
            return malformed("extensions of " + extBytes + " bytes exceed the request");
        }
        ctx.set(unique, reqBuf.getInt(24), reqBuf.getInt(28), reqBuf.getInt(32));

        if (!session.initialized() && opcode != INIT) {
            if (noReply(opcode)) {
                return NO_REPLY;
            }
            LOG.debug("{} request {} before INIT: EIO", name(opcode), unique);
            return -Errno.EIO;
        }
        if (outTotal < OUT_HEADER && !noReply(opcode)) {
            // nowhere to say how it went: do nothing rather than change state the client never learns of
            LOG.debug(
                    "{} request {}: reply space of {} bytes cannot hold a reply header; ignored",
                    name(opcode),
                    unique,
                    outTotal);
            return NO_REPLY;
        }
        if (!known(opcode)) {
            LOG.debug("opcode {} request {}: ENOSYS", opcode, unique);
            return noReply(opcode) ? NO_REPLY : -Errno.ENOSYS;
        }
        int copy;
        if (opcode == WRITE) {
            copy = (int) Math.min(argTotal, WRITE_IN);
        } else if (opcode == BATCH_FORGET) {
            copy = (int) Math.min(argTotal, BATCH_FORGET_IN);
        } else if (argTotal > ARGS_CAP) {
            return malformed("arguments of " + argTotal + " bytes");
        } else {
            copy = (int) argTotal;
        }
        argLen = copy;
        if (extBytes > 0 && carriesSecctx(opcode) && argTotal + extBytes <= ARGS_CAP) {
            // the security context of a creation travels as an extension after the arguments
            extLen = (int) extBytes;
        }
        Segments.copyIn(in, IN_HEADER, req + IN_HEADER, copy + extLen);

        try {
            return op();
        } catch (ErrnoException e) {
            return -e.errno();
        } catch (Throwable t) {
            LOG.warn("{} request {} on node {} failed: {}", name(opcode), unique, nodeId, t.toString());
            LOG.debug("failure details", t);
            return noReply(opcode) ? NO_REPLY : -Errno.EIO;
        }
    }

    private int op() throws ErrnoException {
        switch (opcode) {
            case INIT:
                return init();
            case DESTROY:
                session.destroy();
                return 0;
            case LOOKUP:
                return lookup();
            case FORGET:
                return forget();
            case BATCH_FORGET:
                return batchForget();
            case INTERRUPT:
                return interrupt();
            case GETATTR:
                return getattr();
            case SETATTR:
                return setattr();
            case READLINK:
                return readlink();
            case SYMLINK:
                return symlink();
            case MKNOD:
                return mknod();
            case MKDIR:
                return mkdir();
            case UNLINK:
                return unlinkOrRmdir();
            case RMDIR:
                return unlinkOrRmdir();
            case RENAME:
                return rename(RENAME_IN, false);
            case RENAME2:
                return rename(RENAME2_IN, true);
            case LINK:
                return link();
            case OPEN:
                return open();
            case OPENDIR:
                return open();
            case CREATE:
                return create();
            case TMPFILE:
                return tmpfile();
            case READ:
                return read();
            case WRITE:
                return write();
            case FLUSH:
                return flush();
            case RELEASE:
                return release();
            case RELEASEDIR:
                return release();
            case FSYNC:
                return fsync();
            case FSYNCDIR:
                return fsync();
            case READDIR:
                return readdir(false);
            case READDIRPLUS:
                return readdir(true);
            case STATFS:
                return statfs();
            case ACCESS:
                return access();
            case SETXATTR:
                return setxattr();
            case GETXATTR:
                return getxattr();
            case LISTXATTR:
                return listxattr();
            case REMOVEXATTR:
                return removexattr();
            case GETLK:
                return getlk();
            case SETLK:
                return setlk(false);
            case SETLKW:
                return setlk(true);
            case FALLOCATE:
                return fallocate();
            case LSEEK:
                return lseek();
            case COPY_FILE_RANGE:
                return copyFileRange();
            case SYNCFS:
                fs.syncfs(ctx, nodeId);
                return 0;
            default:
                return -Errno.ENOSYS;
        }
    }

    private static boolean known(int opcode) {
        switch (opcode) {
            case LOOKUP:
            case FORGET:
            case GETATTR:
            case SETATTR:
            case READLINK:
            case SYMLINK:
            case MKNOD:
            case MKDIR:
            case UNLINK:
            case RMDIR:
            case RENAME:
            case LINK:
            case OPEN:
            case READ:
            case WRITE:
            case STATFS:
            case RELEASE:
            case FSYNC:
            case SETXATTR:
            case GETXATTR:
            case LISTXATTR:
            case REMOVEXATTR:
            case FLUSH:
            case INIT:
            case OPENDIR:
            case READDIR:
            case RELEASEDIR:
            case FSYNCDIR:
            case GETLK:
            case SETLK:
            case SETLKW:
            case ACCESS:
            case CREATE:
            case INTERRUPT:
            case DESTROY:
            case BATCH_FORGET:
            case FALLOCATE:
            case READDIRPLUS:
            case RENAME2:
            case LSEEK:
            case COPY_FILE_RANGE:
            case SYNCFS:
            case TMPFILE:
                return true;
            default:
                return false;
        }
    }

    // ---- INIT / DESTROY ----

    private int init() throws ErrnoException {
        if (session.initialized()) {
            // the guest rebooted (or remounted) without DESTROY: release what the old client held
            session.restart();
        }
        if (argLen < INIT_IN_MIN) {
            return malformed("fuse_init_in of " + argLen + " bytes");
        }
        int major = argInt(0);
        int minor = argInt(4);
        int maxReadahead = argInt(8);
        int kernelLow = argInt(12);
        if (!room(INIT_OUT)) {
            return outTooSmall(INIT_OUT);
        }
        NativeMemory.fill(rep + O, INIT_OUT, (byte) 0);
        if (major > KERNEL_VERSION) {
            // the kernel retries INIT with the major we answer
            LOG.info("FUSE INIT: kernel offers {}.{}; answering major {}", major, minor, KERNEL_VERSION);
            repBuf.putInt(O, KERNEL_VERSION);
            repBuf.putInt(O + 4, MAX_MINOR);
            return INIT_OUT;
        }
        if (major < KERNEL_VERSION || minor < MIN_MINOR) {
            LOG.warn(
                    "FUSE INIT: kernel protocol {}.{} is older than {}.{}; refusing",
                    major,
                    minor,
                    KERNEL_VERSION,
                    MIN_MINOR);
            return -EPROTO;
        }
        long kernelFlags = kernelLow & 0xffffffffL;
        if ((kernelFlags & INIT_EXT) != 0 && argLen >= INIT_IN_MIN + 4) {
            kernelFlags |= (argInt(16) & 0xffffffffL) << 32;
        }
        long wanted = fs.initFlags(kernelFlags);
        long flags = kernelFlags & SUPPORTED & (wanted | DISPATCHER_OWNED);
        if ((flags >>> 32) != 0) {
            // flags2 is read only when the reply's flags carry INIT_EXT (which the kernel offered)
            flags |= INIT_EXT;
        }
        int negotiatedMinor = Math.min(minor, MAX_MINOR);
        int maxWrite = session.maxWrite;
        repBuf.putInt(O, KERNEL_VERSION);
        repBuf.putInt(O + 4, negotiatedMinor);
        repBuf.putInt(O + 8, maxReadahead);
        repBuf.putInt(O + 12, (int) flags);
        // as Rust virtiofsd: let the guest keep many background requests (readahead, writeback) in flight
        repBuf.putShort(O + 16, (short) 0xffff);
        repBuf.putShort(O + 18, (short) (0xffff / 4 * 3));
        repBuf.putInt(O + 20, maxWrite);
        repBuf.putInt(O + 24, 1); // time_gran: nanosecond timestamps
        if ((flags & MAX_PAGES) != 0) {
            repBuf.putShort(O + 28, (short) Math.max(1, Math.min(0xffff, maxWrite / 4096)));
        }
        repBuf.putInt(O + 32, (int) (flags >>> 32)); // flags2
        session.initDone(negotiatedMinor, flags);
        LOG.info(
                "FUSE INIT: kernel {}.{}, negotiated 7.{}, flags 0x{} of 0x{}, max_write {}",
                major,
                minor,
                negotiatedMinor,
                Long.toHexString(flags),
                Long.toHexString(kernelFlags),
                maxWrite);
        return INIT_OUT;
    }

    // ---- names and inodes ----

    private int lookup() throws ErrnoException {
        int n = validName(0, true);
        if (n < 0) {
            return n;
        }
        if (!room(ENTRY_OUT)) {
            return outTooSmall(ENTRY_OUT);
        }
        entry.clear();
        fs.lookup(ctx, nodeId, req + A, entry);
        putEntry(O, entry);
        return ENTRY_OUT;
    }

    private int forget() {
        if (argLen < FORGET_IN) {
            return malformed("fuse_forget_in of " + argLen + " bytes");
        }
        fs.forget(nodeId, argLong(0));
        return NO_REPLY;
    }

    private int batchForget() {
        if (argLen < BATCH_FORGET_IN) {
            return malformed("fuse_batch_forget_in of " + argLen + " bytes");
        }
        long count = argInt(0) & 0xffffffffL;
        long fit = (argTotal - BATCH_FORGET_IN) / FORGET_ONE;
        if (count > fit) {
            LOG.debug(
                    "BATCH_FORGET request {}: count {} but room for {} entries; forgetting those", unique, count, fit);
            count = fit;
        }
        // entries stream through the buffer in chunks: a /dev/fuse batch can be as large as max_write
        int perChunk = (ARGS_CAP - BATCH_FORGET_IN) / FORGET_ONE;
        long done = 0;
        while (done < count) {
            int chunk = (int) Math.min(perChunk, count - done);
            Segments.copyIn(
                    in, A + BATCH_FORGET_IN + done * FORGET_ONE, req + A + BATCH_FORGET_IN, (long) chunk * FORGET_ONE);
            for (int i = 0; i < chunk; i++) {
                int off = A + BATCH_FORGET_IN + i * FORGET_ONE;
                fs.forget(reqBuf.getLong(off), reqBuf.getLong(off + 8));
            }
            done += chunk;
        }
        return NO_REPLY;
    }

    private int getattr() throws ErrnoException {
        if (argLen < GETATTR_IN) {
            return malformed("fuse_getattr_in of " + argLen + " bytes");
        }
        long fh = (argInt(0) & GETATTR_FH) != 0 ? argLong(8) : -1;
        if (!room(ATTR_OUT)) {
            return outTooSmall(ATTR_OUT);
        }
        attrOut.clear();
        fs.getattr(ctx, nodeId, fh, attrOut);
        putAttrOut(O, attrOut);
        return ATTR_OUT;
    }

    private int setattr() throws ErrnoException {
        if (argLen < SETATTR_IN) {
            return malformed("fuse_setattr_in of " + argLen + " bytes");
        }
        SetattrIn s = setattrIn;
        s.valid = argInt(0);
        s.fh = argLong(8);
        s.size = argLong(16);
        s.lockOwner = argLong(24);
        s.atime = argLong(32);
        s.mtime = argLong(40);
        s.ctime = argLong(48);
        s.atimensec = argInt(56);
        s.mtimensec = argInt(60);
        s.ctimensec = argInt(64);
        s.mode = argInt(68);
        s.uid = argInt(76);
        s.gid = argInt(80);
        if (!room(ATTR_OUT)) {
            return outTooSmall(ATTR_OUT);
        }
        attrOut.clear();
        fs.setattr(ctx, nodeId, s, attrOut);
        putAttrOut(O, attrOut);
        return ATTR_OUT;
    }

    private int readlink() throws ErrnoException {
        int cap = (int) Math.min(PATH_MAX, outTotal - OUT_HEADER);
        if (cap <= 0) {
            return outTooSmall(1);
        }
        int n = fs.readlink(ctx, nodeId, rep + O, cap);
        return checkedLength(n, cap);
    }

    private int symlink() throws ErrnoException {
        int n = validName(0, false);
        if (n < 0) {
            return n;
        }
        int targetOff = n + 1;
        int t = nulTerminated(targetOff, PATH_MAX - 1, "symlink target");
        if (t < 0) {
            return t;
        }
        int sc = secctx(targetOff + t + 1);
        if (sc < 0) {
            return sc;
        }
        if (!room(ENTRY_OUT)) {
            return outTooSmall(ENTRY_OUT);
        }
        entry.clear();
        fs.symlink(ctx, nodeId, req + A, req + A + targetOff, entry);
        putEntry(O, entry);
        return ENTRY_OUT;
    }

    private int mknod() throws ErrnoException {
        if (argLen < MKNOD_IN) {
            return malformed("fuse_mknod_in of " + argLen + " bytes");
        }
        int n = validName(MKNOD_IN, false);
        if (n < 0) {
            return n;
        }
        int sc = secctx(MKNOD_IN + n + 1);
        if (sc < 0) {
            return sc;
        }
        if (!room(ENTRY_OUT)) {
            return outTooSmall(ENTRY_OUT);
        }
        entry.clear();
        fs.mknod(ctx, nodeId, req + A + MKNOD_IN, argInt(0), argInt(4), argInt(8), entry);
        putEntry(O, entry);
        return ENTRY_OUT;
    }

    private int mkdir() throws ErrnoException {
        if (argLen < MKDIR_IN) {
            return malformed("fuse_mkdir_in of " + argLen + " bytes");
        }
        int n = validName(MKDIR_IN, false);
        if (n < 0) {
            return n;
        }
        int sc = secctx(MKDIR_IN + n + 1);
        if (sc < 0) {
            return sc;
        }
        if (!room(ENTRY_OUT)) {
            return outTooSmall(ENTRY_OUT);
        }
        entry.clear();
        fs.mkdir(ctx, nodeId, req + A + MKDIR_IN, argInt(0), argInt(4), entry);
        putEntry(O, entry);
        return ENTRY_OUT;
    }

    private int unlinkOrRmdir() throws ErrnoException {
        int n = validName(0, false);
        if (n < 0) {
            return n;
        }
        if (opcode == UNLINK) {
            fs.unlink(ctx, nodeId, req + A);
        } else {
            fs.rmdir(ctx, nodeId, req + A);
        }
        return 0;
    }

    private int rename(int structLen, boolean withFlags) throws ErrnoException {
        if (argLen < structLen) {
            return malformed("rename arguments of " + argLen + " bytes");
        }
        int n1 = validName(structLen, false);
        if (n1 < 0) {
            return n1;
        }
        int newOff = structLen + n1 + 1;
        int n2 = validName(newOff, false);
        if (n2 < 0) {
            return n2;
        }
        int flags = withFlags ? argInt(8) : 0;
        fs.rename(ctx, nodeId, req + A + structLen, argLong(0), req + A + newOff, flags);
        return 0;
    }

    private int link() throws ErrnoException {
        if (argLen < LINK_IN) {
            return malformed("fuse_link_in of " + argLen + " bytes");
        }
        int n = validName(LINK_IN, false);
        if (n < 0) {
            return n;
        }
        if (!room(ENTRY_OUT)) {
            return outTooSmall(ENTRY_OUT);
        }
        entry.clear();
        fs.link(ctx, argLong(0), nodeId, req + A + LINK_IN, entry);
        putEntry(O, entry);
        return ENTRY_OUT;
    }

    // ---- files ----

    private int open() throws ErrnoException {
        if (argLen < OPEN_IN) {
            return malformed("fuse_open_in of " + argLen + " bytes");
        }
        if (!room(OPEN_OUT)) {
            return outTooSmall(OPEN_OUT);
        }
        openOut.clear();
        if (opcode == OPEN) {
            ctx.killSuidGid = (argInt(4) & OPEN_KILL_SUIDGID) != 0;
            fs.open(ctx, nodeId, argInt(0), openOut);
        } else {
            fs.opendir(ctx, nodeId, argInt(0), openOut);
        }
        putOpen(O, openOut);
        return OPEN_OUT;
    }

    private int create() throws ErrnoException {
        if (argLen < CREATE_IN) {
            return malformed("fuse_create_in of " + argLen + " bytes");
        }
        int n = validName(CREATE_IN, false);
        if (n < 0) {
            return n;
        }
        int sc = secctx(CREATE_IN + n + 1);
        if (sc < 0) {
            return sc;
        }
        ctx.killSuidGid = (argInt(12) & OPEN_KILL_SUIDGID) != 0;
        if (!room(ENTRY_OUT + OPEN_OUT)) {
            return outTooSmall(ENTRY_OUT + OPEN_OUT);
        }
        entry.clear();
        openOut.clear();
        fs.create(ctx, nodeId, req + A + CREATE_IN, argInt(4), argInt(0), argInt(8), entry, openOut);
        putEntry(O, entry);
        putOpen(O + ENTRY_OUT, openOut);
        return ENTRY_OUT + OPEN_OUT;
    }

    private int tmpfile() throws ErrnoException {
        // the kernel appends the name of its placeholder dentry ("/"): not a name, ignored
        if (argLen < CREATE_IN) {
            return malformed("fuse_create_in of " + argLen + " bytes");
        }
        int placeholder =
                argLen > CREATE_IN ? NativeMemory.indexOf(req + A + CREATE_IN, argLen - CREATE_IN, (byte) 0) : -1;
        int sc = secctx(placeholder < 0 ? argLen : CREATE_IN + placeholder + 1);
        if (sc < 0) {
            return sc;
        }
        if (!room(ENTRY_OUT + OPEN_OUT)) {
            return outTooSmall(ENTRY_OUT + OPEN_OUT);
        }
        entry.clear();
        openOut.clear();
        fs.tmpfile(ctx, nodeId, argInt(4), argInt(0), argInt(8), entry, openOut);
        putEntry(O, entry);
        putOpen(O + ENTRY_OUT, openOut);
        return ENTRY_OUT + OPEN_OUT;
    }

    private int read() throws ErrnoException {
        if (argLen < READ_IN) {
            return malformed("fuse_read_in of " + argLen + " bytes");
        }
        long size = argInt(16) & 0xffffffffL;
        int cap = (int) Math.min(Math.min(size, outTotal - OUT_HEADER), session.maxWrite);
        view.set(out, OUT_HEADER, cap);
        int n = fs.read(ctx, nodeId, argLong(0), argLong(8), cap, view);
        n = checkedLength(n, cap);
        dataInOut = true;
        return n;
    }

    private int write() throws ErrnoException {
        if (argLen < WRITE_IN) {
            return malformed("fuse_write_in of " + argLen + " bytes");
        }
        long size = argInt(16) & 0xffffffffL;
        long payload = argTotal - WRITE_IN;
        if (size > payload || size > Integer.MAX_VALUE) {
            return malformed("WRITE of " + size + " bytes with a payload of " + payload);
        }
        if (!room(WRITE_OUT)) {
            return outTooSmall(WRITE_OUT);
        }
        view.set(in, A + WRITE_IN, size);
        boolean killPriv = (argInt(20) & WRITE_KILL_SUIDGID) != 0;
        int n = fs.write(ctx, nodeId, argLong(0), argLong(8), view, killPriv);
        n = checkedLength(n, (int) size);
        if (n < 0) {
            return n;
        }
        repBuf.putInt(O, n);
        repBuf.putInt(O + 4, 0);
        return WRITE_OUT;
    }

    private int flush() throws ErrnoException {
        if (argLen < FLUSH_IN) {
            return malformed("fuse_flush_in of " + argLen + " bytes");
        }
        fs.flush(ctx, nodeId, argLong(0), argLong(16));
        return 0;
    }

    private int release() throws ErrnoException {
        if (argLen < RELEASE_IN) {
            return malformed("fuse_release_in of " + argLen + " bytes");
        }
        if (opcode == RELEASE) {
            boolean flockRelease = (argInt(12) & RELEASE_FLOCK_UNLOCK) != 0;
            fs.release(ctx, nodeId, argLong(0), argInt(8), argLong(16), flockRelease);
        } else {
            fs.releasedir(ctx, nodeId, argLong(0));
        }
        return 0;
    }

    private int fsync() throws ErrnoException {
        if (argLen < FSYNC_IN) {
            return malformed("fuse_fsync_in of " + argLen + " bytes");
        }
        boolean datasync = (argInt(8) & FSYNC_FDATASYNC) != 0;
        if (opcode == FSYNC) {
            fs.fsync(ctx, nodeId, argLong(0), datasync);
        } else {
            fs.fsyncdir(ctx, nodeId, argLong(0), datasync);
        }
        return 0;
    }

    private int readdir(boolean plus) throws ErrnoException {
        if (argLen < READ_IN) {
            return malformed("fuse_read_in of " + argLen + " bytes");
        }
        long size = argInt(16) & 0xffffffffL;
        int cap = (int) Math.min(Math.min(size, DATA_CAP), outTotal - OUT_HEADER);
        dir.reset(plus, cap);
        fs.readdir(ctx, nodeId, argLong(0), argLong(8), dir);
        return dir.used;
    }

    private int statfs() throws ErrnoException {
        if (!room(STATFS_OUT)) {
            return outTooSmall(STATFS_OUT);
        }
        StatfsOut s = statfsOut;
        s.blocks = s.bfree = s.bavail = s.files = s.ffree = 0;
        s.bsize = s.namelen = s.frsize = 0;
        fs.statfs(ctx, nodeId, s);
        NativeMemory.fill(rep + O, STATFS_OUT, (byte) 0);
        repBuf.putLong(O, s.blocks);
        repBuf.putLong(O + 8, s.bfree);
        repBuf.putLong(O + 16, s.bavail);
        repBuf.putLong(O + 24, s.files);
        repBuf.putLong(O + 32, s.ffree);
        repBuf.putInt(O + 40, s.bsize);
        repBuf.putInt(O + 44, s.namelen);
        repBuf.putInt(O + 48, s.frsize);
        return STATFS_OUT;
    }

    private int access() throws ErrnoException {
        if (argLen < ACCESS_IN) {
            return malformed("fuse_access_in of " + argLen + " bytes");
        }
        fs.access(ctx, nodeId, argInt(0));
        return 0;
    }

    // ---- xattrs ----

    private int setxattr() throws ErrnoException {
        // with SETXATTR_EXT the kernel sends the 16-byte struct whose third word is setxattr_flags
        boolean ext = (session.flags() & SETXATTR_EXT) != 0;
        int structLen = ext ? SETXATTR_IN_EXT : SETXATTR_IN;
        if (argLen < structLen) {
            return malformed("fuse_setxattr_in of " + argLen + " bytes");
        }
        if (ext) {
            ctx.setxattrFlags = argInt(8);
        }
        int n = xattrName(structLen);
        if (n < 0) {
            return n;
        }
        int valueOff = structLen + n + 1;
        long size = argInt(0) & 0xffffffffL;
        if (size > argLen - valueOff) {
            return malformed("xattr value of " + size + " bytes, " + (argLen - valueOff) + " present");
        }
        fs.setxattr(ctx, nodeId, req + A + structLen, req + A + valueOff, (int) size, argInt(4));
        return 0;
    }

    private int getxattr() throws ErrnoException {
        if (argLen < GETXATTR_IN) {
            return malformed("fuse_getxattr_in of " + argLen + " bytes");
        }
        int n = xattrName(GETXATTR_IN);
        if (n < 0) {
            return n;
        }
        return xattrReply(true);
    }

    private int listxattr() throws ErrnoException {
        if (argLen < GETXATTR_IN) {
            return malformed("fuse_getxattr_in of " + argLen + " bytes");
        }
        return xattrReply(false);
    }

    /** GETXATTR/LISTXATTR: size 0 asks for the size (fuse_getxattr_out), else for the data. */
    private int xattrReply(boolean get) throws ErrnoException {
        long size = argInt(0) & 0xffffffffL;
        if (size == 0) {
            if (!room(GETXATTR_OUT)) {
                return outTooSmall(GETXATTR_OUT);
            }
            int needed = get
                    ? fs.getxattr(ctx, nodeId, req + A + GETXATTR_IN, rep + O, 0)
                    : fs.listxattr(ctx, nodeId, rep + O, 0);
            if (needed < 0) {
                return badResult(needed);
            }
            repBuf.putInt(O, needed);
            repBuf.putInt(O + 4, 0);
            return GETXATTR_OUT;
        }
        int cap = (int) Math.min(Math.min(size, DATA_CAP), outTotal - OUT_HEADER);
        if (cap <= 0) {
            return outTooSmall(1);
        }
        int n = get
                ? fs.getxattr(ctx, nodeId, req + A + GETXATTR_IN, rep + O, cap)
                : fs.listxattr(ctx, nodeId, rep + O, cap);
        return checkedLength(n, cap);
    }

    private int removexattr() throws ErrnoException {
        int n = xattrName(0);
        if (n < 0) {
            return n;
        }
        fs.removexattr(ctx, nodeId, req + A);
        return 0;
    }

    // ---- locks, space, copies ----

    private boolean readLock() {
        if (argLen < LK_IN) {
            return false;
        }
        lock.start = argLong(16);
        lock.end = argLong(24);
        lock.type = argInt(32);
        lock.pid = argInt(36);
        return true;
    }

    private int getlk() throws ErrnoException {
        if (!readLock()) {
            return malformed("fuse_lk_in of " + argLen + " bytes");
        }
        if (!room(LK_OUT)) {
            return outTooSmall(LK_OUT);
        }
        fs.getlk(ctx, nodeId, argLong(0), argLong(8), lock);
        repBuf.putLong(O, lock.start);
        repBuf.putLong(O + 8, lock.end);
        repBuf.putInt(O + 16, lock.type);
        repBuf.putInt(O + 20, lock.pid);
        return LK_OUT;
    }

    private int setlk(boolean sleep) throws ErrnoException {
        if (!readLock()) {
            return malformed("fuse_lk_in of " + argLen + " bytes");
        }
        boolean flock = (argInt(40) & LK_FLOCK) != 0;
        if (!sleep) {
            fs.setlk(ctx, nodeId, argLong(0), argLong(8), lock, flock, false);
            return 0;
        }
        // Only a sleeping lock can wait for long: make it findable by INTERRUPT.
        session.sleeping(unique, Thread.currentThread());
        try {
            fs.setlk(ctx, nodeId, argLong(0), argLong(8), lock, flock, true);
            return 0;
        } finally {
            session.awake(unique);
            Thread.interrupted(); // a late INTERRUPT must not leak into the next request
        }
    }

    /** INTERRUPT (no reply): wakes the worker serving a sleeping lock request, if any. */
    private int interrupt() {
        if (argLen >= 8) {
            session.interrupt(argLong(0));
        }
        return NO_REPLY;
    }

    private int fallocate() throws ErrnoException {
        if (argLen < FALLOCATE_IN) {
            return malformed("fuse_fallocate_in of " + argLen + " bytes");
        }
        fs.fallocate(ctx, nodeId, argLong(0), argInt(24), argLong(8), argLong(16));
        return 0;
    }

    private int lseek() throws ErrnoException {
        if (argLen < LSEEK_IN) {
            return malformed("fuse_lseek_in of " + argLen + " bytes");
        }
        if (!room(LSEEK_OUT)) {
            return outTooSmall(LSEEK_OUT);
        }
        long off = fs.lseek(ctx, nodeId, argLong(0), argLong(8), argInt(16));
        repBuf.putLong(O, off);
        return LSEEK_OUT;
    }

    private int copyFileRange() throws ErrnoException {
        if (argLen < COPY_FILE_RANGE_IN) {
            return malformed("fuse_copy_file_range_in of " + argLen + " bytes");
        }
        long flags = argLong(48);
        if (flags != (int) flags) {
            return malformed("copy_file_range flags 0x" + Long.toHexString(flags));
        }
        if (!room(WRITE_OUT)) {
            return outTooSmall(WRITE_OUT);
        }
        long len = Math.min(argLong(40) < 0 ? COPY_FILE_RANGE_MAX : argLong(40), COPY_FILE_RANGE_MAX);
        long n = fs.copyFileRange(
                ctx, nodeId, argLong(0), argLong(8), argLong(16), argLong(24), argLong(32), len, (int) flags);
        if (n < 0 || n > len) {
            return badResult(n);
        }
        repBuf.putInt(O, (int) n);
        repBuf.putInt(O + 4, 0);
        return WRITE_OUT;
    }

    private static boolean carriesSecctx(int opcode) {
        return opcode == CREATE || opcode == MKDIR || opcode == MKNOD || opcode == SYMLINK || opcode == TMPFILE;
    }

    /**
     * The security context of a creation when FUSE_SECURITY_CTX was negotiated, into {@link #ctx}.
     * Up to 7.37 it follows the names ({@code after} is the argument offset after them); from 7.38
     * it is an extension after the arguments. The block is a fuse_secctx_header (total size, number
     * of contexts: 0 or 1 as the kernel sends) and for one context a fuse_secctx (value size,
     * padding), the NUL-terminated xattr name and the value. Returns 0 or -EINVAL for a lie.
     */
    private int secctx(int after) {
        if ((session.flags() & SECURITY_CTX) == 0) {
            return 0;
        }
        boolean ext = session.minor() >= EXTLEN_MINOR;
        int off = ext ? argLen : after;
        int end = ext ? argLen + extLen : argLen;
        while (off + 8 <= end) {
            int size = argInt(off);
            int type = argInt(off + 4);
            if (size < 8 || size > end - off) {
                return malformed("security context block of " + size + " bytes, " + (end - off) + " present");
            }
            if (type >= 0 && type <= MAX_NR_SECCTX) {
                if (type == 0) {
                    return 0; // no LSM labelled it
                }
                if (type > 1) {
                    return malformed(type + " security contexts");
                }
                int blockEnd = off + size;
                int p = off + 8;
                if (p + 8 > blockEnd) {
                    return malformed("fuse_secctx missing");
                }
                long valueSize = argInt(p) & 0xffffffffL;
                int name = p + 8;
                int nameLen = name < blockEnd ? NativeMemory.indexOf(req + A + name, blockEnd - name, (byte) 0) : -1;
                if (nameLen <= 0 || nameLen > NAME_MAX) {
                    return malformed("security context name");
                }
                int value = name + nameLen + 1;
                if (valueSize == 0 || valueSize > blockEnd - value) {
                    return malformed("security context of " + valueSize + " bytes");
                }
                ctx.secctxName = req + A + name;
                ctx.secctxValue = req + A + value;
                ctx.secctxSize = (int) valueSize;
                return 0;
            }
            if (!ext) {
                break;
            }
            off += size; // another extension (supplementary groups): not ours to read
        }
        return 0;
    }

    // ---- helpers ----

    private int argInt(int off) {
        return reqBuf.getInt(A + off);
    }

    private long argLong(int off) {
        return reqBuf.getLong(A + off);
    }

    private boolean room(int body) {
        return outTotal >= OUT_HEADER + (long) body;
    }

    private void count(int op) {
        int slot = op > 0 && op < OPCODE_SLOTS ? op : 0;
        counts.lazySet(slot, counts.get(slot) + 1); // single writer: no atomic add needed
    }

    private int malformed(String what) {
        if (LOG.isDebugEnabled()) {
            LOG.debug("malformed {} request {}: {}", name(opcode), unique, what);
        }
        return noReply(opcode) ? NO_REPLY : -Errno.EINVAL;
    }

    private int outTooSmall(int body) {
        LOG.debug("{} request {}: reply space {} bytes, {} needed", name(opcode), unique, outTotal, OUT_HEADER + body);
        return -Errno.EIO;
    }

    /** A length the filesystem returned must lie in [0, cap]. */
    private int checkedLength(int n, int cap) {
        if (n < 0 || n > cap) {
            return badResult(n);
        }
        return n;
    }

    private int badResult(long n) {
        LOG.warn("{} request {} on node {}: filesystem returned {}", name(opcode), unique, nodeId, n);
        return -Errno.EIO;
    }

    /**
     * Validates a name at argument offset {@code off}: NUL-terminated inside the arguments,
     * non-empty, at most NAME_MAX bytes, no '/'; "." and ".." only where {@code allowDots}.
     * Returns its length or -errno.
     */
    private int validName(int off, boolean allowDots) {
        int n = nulTerminated(off, NAME_MAX, "name");
        if (n < 0) {
            return n;
        }
        long a = req + A + off;
        if (NativeMemory.indexOf(a, n, (byte) '/') >= 0) {
            malformed("name contains '/'");
            return -Errno.EINVAL;
        }
        if (!allowDots && isDots(a, n)) {
            malformed("name \".\" or \"..\"");
            return -Errno.EINVAL;
        }
        return n;
    }

    /** An xattr name: NUL-terminated, non-empty, at most XATTR_NAME_MAX bytes; '/' is allowed. */
    private int xattrName(int off) {
        return nulTerminated(off, NAME_MAX, "xattr name");
    }

    /** Length of the non-empty NUL-terminated string at argument offset {@code off}, or -errno. */
    private int nulTerminated(int off, int max, String what) {
        int avail = argLen - off;
        if (avail <= 0) {
            malformed(what + " missing");
            return -Errno.EINVAL;
        }
        int n = NativeMemory.indexOf(req + A + off, avail, (byte) 0);
        if (n < 0) {
            malformed(what + " not NUL-terminated");
            return -Errno.EINVAL;
        }
        if (n == 0) {
            malformed(what + " empty");
            return -Errno.EINVAL;
        }
        if (n > max) {
            malformed(what + " of " + n + " bytes");
            return -Errno.ENAMETOOLONG;
        }
        return n;
    }

    private static boolean isDots(long a, int n) {
        return (n == 1 && NativeMemory.getByte(a) == '.')
                || (n == 2 && NativeMemory.getByte(a) == '.' && NativeMemory.getByte(a + 1) == '.');
    }

    private static long seconds(long nanos) {
        return nanos <= 0 ? 0 : nanos / NANOS_PER_SECOND;
    }

    private static int subsecondNanos(long nanos) {
        return nanos <= 0 ? 0 : (int) (nanos % NANOS_PER_SECOND);
    }

    private void putEntry(int off, EntryOut e) {
        repBuf.putLong(off, e.nodeId);
        repBuf.putLong(off + 8, e.generation);
        repBuf.putLong(off + 16, seconds(e.entryTimeoutNanos));
        repBuf.putLong(off + 24, seconds(e.attrTimeoutNanos));
        repBuf.putInt(off + 32, subsecondNanos(e.entryTimeoutNanos));
        repBuf.putInt(off + 36, subsecondNanos(e.attrTimeoutNanos));
        putAttr(off + 40, e.attr);
    }

    private void putAttrOut(int off, AttrOut a) {
        repBuf.putLong(off, seconds(a.attrTimeoutNanos));
        repBuf.putInt(off + 8, subsecondNanos(a.attrTimeoutNanos));
        repBuf.putInt(off + 12, 0);
        putAttr(off + 16, a.attr);
    }

    private void putAttr(int off, Attr a) {
        repBuf.putLong(off, a.ino);
        repBuf.putLong(off + 8, a.size);
        repBuf.putLong(off + 16, a.blocks);
        repBuf.putLong(off + 24, a.atime);
        repBuf.putLong(off + 32, a.mtime);
        repBuf.putLong(off + 40, a.ctime);
        repBuf.putInt(off + 48, a.atimensec);
        repBuf.putInt(off + 52, a.mtimensec);
        repBuf.putInt(off + 56, a.ctimensec);
        repBuf.putInt(off + 60, a.mode);
        repBuf.putInt(off + 64, a.nlink);
        repBuf.putInt(off + 68, a.uid);
        repBuf.putInt(off + 72, a.gid);
        repBuf.putInt(off + 76, a.rdev);
        repBuf.putInt(off + 80, a.blksize);
        // fuse_attr.flags exists from 7.32; before, the word is padding
        repBuf.putInt(off + 84, session.minor() >= 32 ? a.flags : 0);
    }

    private void putOpen(int off, OpenOut o) {
        repBuf.putLong(off, o.fh);
        repBuf.putInt(off + 8, o.openFlags);
        repBuf.putInt(off + 12, 0);
    }

    /** Packs fuse_dirent / fuse_direntplus records, 8-byte aligned, into the reply buffer. */
    private final class DirBuffer implements DirSink {
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
                LOG.debug("READDIR request {}: entry of {} name bytes does not fit; dropped", unique, nameLength);
                scratch.clear();
                return;
            }
            int p = O + used;
            int size = recordSize(nameLength);
            if (plus) {
                if (isDots(nameAddress, nameLength)) {
                    // no lookup for "." and "..": nodeid 0 tells the kernel to use no entry data
                    NativeMemory.fill(rep + p, ENTRY_OUT, (byte) 0);
                    repBuf.putLong(p + 40, ino);
                    repBuf.putInt(p + 40 + 60, type << 12);
                } else {
                    putEntry(p, scratch);
                }
                p += ENTRY_OUT;
            }
            repBuf.putLong(p, ino);
            repBuf.putLong(p + 8, nextOffset);
            repBuf.putInt(p + 16, nameLength);
            repBuf.putInt(p + 20, type);
            NativeMemory.copy(nameAddress, rep + p + DIRENT, nameLength);
            int end = O + used + size;
            int nameEnd = p + DIRENT + nameLength;
            if (end > nameEnd) {
                NativeMemory.fill(rep + nameEnd, end - nameEnd, (byte) 0);
            }
            used += size;
            scratch.clear();
        }
    }
}
