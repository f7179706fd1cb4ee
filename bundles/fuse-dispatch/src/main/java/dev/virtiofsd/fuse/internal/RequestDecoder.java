package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.api.fs.InitFlags.*;
import static dev.virtiofsd.fuse.internal.FuseProtocol.*;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.fs.RequestContext;
import dev.virtiofsd.api.fs.SegmentList;
import dev.virtiofsd.linux.NativeMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Decoding of one FUSE request: the header and the arguments are copied (bounded) from the
 * transport's segments into this worker's native buffer, so that names can be handed to the
 * filesystem by address and every field read is bounds-checked. WRITE payloads stay where they are
 * (see {@link SegmentView}). Validation of names, strings and security contexts lives here too.
 */
final class RequestDecoder {
    /** Largest argument block (after the header) copied in: an xattr value of XATTR_SIZE_MAX plus name and struct. */
    static final int ARGS_CAP = 65536 + 4096;

    private final FuseSessionImpl session;
    final ByteBuffer buf;
    private final long req;
    /** Native address of the arguments (right after the header). */
    final long args;

    // the request being decoded
    SegmentList in;
    int opcode;
    long unique;
    long nodeId;
    /** Argument bytes after the header, extensions excluded; may exceed ARGS_CAP only for WRITE/BATCH_FORGET. */
    long argTotal;
    /** {@code argTotal} where it is known to be copied in full. */
    int argLen;
    /** Bytes of request extensions (7.38+) after the arguments; copied in after them for creations. */
    int extLen;
    /** Extension bytes the header announces (7.38+). */
    private long extBytes;

    RequestDecoder(FuseSessionImpl session) {
        this.session = session;
        // a direct buffer: freed by the GC with the worker, no close() needed in the FuseWorker contract
        this.buf = ByteBuffer.allocateDirect(IN_HEADER + ARGS_CAP).order(ByteOrder.nativeOrder());
        this.req = NativeMemory.address(buf);
        this.args = req + IN_HEADER;
    }

    /** Forgets the previous request. */
    void clear(SegmentList in) {
        this.in = in;
        opcode = 0;
        unique = 0;
        nodeId = 0;
        argTotal = 0;
        argLen = 0;
        extLen = 0;
        extBytes = 0;
    }

    /**
     * Copies in and decodes the header; fills {@code ctx} with the caller. Returns 0, or the
     * result for a malformed header (the opcode and unique are read even then, where present).
     */
    int readHeader(RequestContext ctx) {
        long inTotal = Segments.total(in);
        int hdr = (int) Math.min(inTotal, IN_HEADER);
        if (hdr < IN_HEADER) {
            NativeMemory.fill(req, IN_HEADER, (byte) 0);
        }
        Segments.copyIn(in, 0, req, hdr);
        long len = buf.getInt(0) & 0xffffffffL;
        opcode = buf.getInt(4);
        unique = buf.getLong(8);
        nodeId = buf.getLong(16);
        if (hdr < IN_HEADER) {
            return malformed("short header: " + inTotal + " bytes");
        }
        if (len != inTotal) {
            return malformed("header len " + len + " but " + inTotal + " readable bytes");
        }
        // 7.38 split the header's last u32 into total_extlen and padding; before, it is padding to ignore
        extBytes = session.minor() >= EXTLEN_MINOR ? (buf.getShort(36) & 0xffff) * 8L : 0;
        argTotal = len - IN_HEADER - extBytes;
        if (argTotal < 0) {
            return malformed("extensions of " + extBytes + " bytes exceed the request");
        }
        ctx.set(unique, buf.getInt(24), buf.getInt(28), buf.getInt(32));
        return 0;
    }

    /**
     * Copies in the arguments (WRITE and BATCH_FORGET: their fixed struct only; the payload is read
     * where it lies) and, for creations, the extensions that may carry a security context. Returns
     * 0, or the result for arguments larger than the buffer.
     */
    int readArguments() {
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
        Segments.copyIn(in, IN_HEADER, args, copy + extLen);
        return 0;
    }

    /** The opcode of the request in {@code segments} without decoding it, or -1 if its header is short. */
    int peekOpcode(SegmentList segments) {
        if (Segments.total(segments) < IN_HEADER) {
            return -1;
        }
        Segments.copyIn(segments, 4, req + 4, 4);
        return buf.getInt(4);
    }

    /**
     * The opcode and unique of whatever part of a header {@code segments} holds, for an error reply
     * to a request that will not be served: {@link #opcode} and {@link #unique} (0 when cut short).
     */
    void peekHeader(SegmentList segments) {
        NativeMemory.fill(req, IN_HEADER, (byte) 0);
        long readable = Segments.copyIn(segments, 0, req, IN_HEADER);
        opcode = buf.getInt(4);
        // a unique cut short is no unique: 0 rather than a mix of its bytes and ours
        unique = readable >= 16 ? buf.getLong(8) : 0;
    }

    int argInt(int off) {
        return buf.getInt(IN_HEADER + off);
    }

    long argLong(int off) {
        return buf.getLong(IN_HEADER + off);
    }

    int malformed(String what) {
        if (Operations.LOG.isDebugEnabled()) {
            Operations.LOG.debug("malformed {} request {}: {}", name(opcode), unique, what);
        }
        return noReply(opcode) ? NO_REPLY : -Errno.EINVAL;
    }

    /**
     * Validates a name at argument offset {@code off}: NUL-terminated inside the arguments,
     * non-empty, at most NAME_MAX bytes, no '/'; "." and ".." only where {@code allowDots}.
     * Returns its length or -errno.
     */
    int validName(int off, boolean allowDots) {
        int n = nulTerminated(off, NAME_MAX, "name");
        if (n < 0) {
            return n;
        }
        long a = args + off;
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
    int xattrName(int off) {
        return nulTerminated(off, NAME_MAX, "xattr name");
    }

    /** Length of the non-empty NUL-terminated string at argument offset {@code off}, or -errno. */
    int nulTerminated(int off, int max, String what) {
        int avail = argLen - off;
        if (avail <= 0) {
            malformed(what + " missing");
            return -Errno.EINVAL;
        }
        int n = NativeMemory.indexOf(args + off, avail, (byte) 0);
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

    /**
     * The security context of a creation when FUSE_SECURITY_CTX was negotiated, into {@code ctx}.
     * Up to 7.37 it follows the names ({@code after} is the argument offset after them); from 7.38
     * it is an extension after the arguments. The block is a fuse_secctx_header (total size, number
     * of contexts: 0 or 1 as the kernel sends) and for one context a fuse_secctx (value size,
     * padding), the NUL-terminated xattr name and the value. Returns 0 or -EINVAL for a lie.
     */
    int secctx(RequestContext ctx, int after) {
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
                int nameLen = name < blockEnd ? NativeMemory.indexOf(args + name, blockEnd - name, (byte) 0) : -1;
                if (nameLen <= 0 || nameLen > NAME_MAX) {
                    return malformed("security context name");
                }
                int value = name + nameLen + 1;
                if (valueSize == 0 || valueSize > blockEnd - value) {
                    return malformed("security context of " + valueSize + " bytes");
                }
                ctx.secctxName = args + name;
                ctx.secctxValue = args + value;
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

    static boolean carriesSecctx(int opcode) {
        return opcode == CREATE || opcode == MKDIR || opcode == MKNOD || opcode == SYMLINK || opcode == TMPFILE;
    }

    static boolean isDots(long a, int n) {
        return (n == 1 && NativeMemory.getByte(a) == '.')
                || (n == 2 && NativeMemory.getByte(a) == '.' && NativeMemory.getByte(a + 1) == '.');
    }
}
