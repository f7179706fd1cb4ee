package dev.virtiofsd.fuse.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
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
import dev.virtiofsd.linux.NativeMemory;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A FileSystem that records each call as one line and answers with fixed, recognisable data. */
final class RecordingFs implements FileSystem {
    final List<String> calls = new ArrayList<>();
    /** Thrown by the next operation (then cleared), if set. */
    Throwable failNext;

    long wantedFlags = -1L;
    long kernelFlagsSeen;
    int destroyed;

    byte[] fileData = new byte[0];
    byte[] lastWrite;
    /** Copies of the segment lists the fs was given (views die with the request). */
    long[][] lastReadDst;

    long[][] lastWriteSrc;
    int lastReadCount;
    byte[] xattrValue = "hello-value".getBytes(StandardCharsets.UTF_8);
    byte[] xattrList = "user.a\0user.bb\0".getBytes(StandardCharsets.UTF_8);
    String linkTarget = "some/target";
    List<String> dirNames = List.of(".", "..", "a", "bb", "file-with-a-longer-name");
    SetattrIn lastSetattr;
    boolean lastReaddirPlus;
    long copyResult = -1;

    private final ByteBuffer names = ByteBuffer.allocateDirect(4096);
    private final long namesAddress = NativeMemory.address(names);

    /** {addresses, lengths} of a segment list. */
    static long[][] snapshot(SegmentList l) {
        long[][] s = new long[2][l.count()];
        for (int i = 0; i < l.count(); i++) {
            s[0][i] = l.address(i);
            s[1][i] = l.length(i);
        }
        return s;
    }

    private void check() throws ErrnoException {
        Throwable t = failNext;
        failNext = null;
        if (t instanceof ErrnoException e) {
            throw e;
        }
        if (t instanceof RuntimeException e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
    }

    private static String s(long address) {
        return NativeMemory.getString(address);
    }

    private void record(String line) {
        calls.add(line);
    }

    String last() {
        return calls.isEmpty() ? null : calls.get(calls.size() - 1);
    }

    static void fillEntry(EntryOut out, long nodeId) {
        out.nodeId = nodeId;
        out.generation = 7;
        out.entryTimeoutNanos = 1_500_000_000L;
        out.attrTimeoutNanos = 2_000_000_001L;
        out.attr.ino = nodeId + 1000;
        out.attr.size = 1234;
        out.attr.blocks = 8;
        out.attr.atime = 11;
        out.attr.mtime = 12;
        out.attr.ctime = 13;
        out.attr.atimensec = 21;
        out.attr.mtimensec = 22;
        out.attr.ctimensec = 23;
        out.attr.mode = 0100644;
        out.attr.nlink = 1;
        out.attr.uid = 1000;
        out.attr.gid = 1001;
        out.attr.rdev = 0;
        out.attr.blksize = 4096;
        out.attr.flags = 1;
    }

    @Override
    public long initFlags(long kernelFlags) {
        kernelFlagsSeen = kernelFlags;
        record("initFlags " + Long.toHexString(kernelFlags));
        return wantedFlags;
    }

    @Override
    public void destroy() {
        destroyed++;
        record("destroy");
    }

    @Override
    public void lookup(RequestContext ctx, long parent, long name, EntryOut out) throws ErrnoException {
        record("lookup " + parent + " " + s(name) + " uid=" + ctx.uid + " gid=" + ctx.gid + " pid=" + ctx.pid
                + " unique=" + ctx.unique);
        check();
        fillEntry(out, 100);
    }

    @Override
    public void forget(long nodeId, long nlookup) {
        record("forget " + nodeId + " " + nlookup);
    }

    @Override
    public void getattr(RequestContext ctx, long nodeId, long fh, AttrOut out) throws ErrnoException {
        record("getattr " + nodeId + " fh=" + fh);
        check();
        EntryOut e = new EntryOut();
        fillEntry(e, nodeId);
        out.attr.ino = e.attr.ino;
        out.attr.size = e.attr.size;
        out.attr.mode = e.attr.mode;
        out.attr.nlink = 2;
        out.attrTimeoutNanos = 3_000_000_005L;
    }

    @Override
    public void setattr(RequestContext ctx, long nodeId, SetattrIn in, AttrOut out) throws ErrnoException {
        record("setattr " + nodeId);
        check();
        SetattrIn copy = new SetattrIn();
        copy.valid = in.valid;
        copy.fh = in.fh;
        copy.size = in.size;
        copy.lockOwner = in.lockOwner;
        copy.atime = in.atime;
        copy.mtime = in.mtime;
        copy.ctime = in.ctime;
        copy.atimensec = in.atimensec;
        copy.mtimensec = in.mtimensec;
        copy.ctimensec = in.ctimensec;
        copy.mode = in.mode;
        copy.uid = in.uid;
        copy.gid = in.gid;
        lastSetattr = copy;
        out.attr.ino = nodeId;
        out.attr.size = in.size;
    }

    @Override
    public int readlink(RequestContext ctx, long nodeId, long buffer, int capacity) throws ErrnoException {
        record("readlink " + nodeId + " cap=" + capacity);
        check();
        byte[] t = linkTarget.getBytes(StandardCharsets.UTF_8);
        if (t.length > capacity) {
            throw ErrnoException.of(Errno.ENAMETOOLONG);
        }
        NativeMemory.putBytes(buffer, t, 0, t.length);
        return t.length;
    }

    @Override
    public void symlink(RequestContext ctx, long parent, long name, long target, EntryOut out) throws ErrnoException {
        record("symlink " + parent + " " + s(name) + " -> " + s(target) + extras(ctx));
        check();
        fillEntry(out, 101);
    }

    @Override
    public void mknod(RequestContext ctx, long parent, long name, int mode, int rdev, int umask, EntryOut out)
            throws ErrnoException {
        record("mknod " + parent + " " + s(name) + " mode=" + Integer.toOctalString(mode) + " rdev=" + rdev + " umask="
                + Integer.toOctalString(umask) + extras(ctx));
        check();
        fillEntry(out, 102);
    }

    @Override
    public void mkdir(RequestContext ctx, long parent, long name, int mode, int umask, EntryOut out)
            throws ErrnoException {
        record("mkdir " + parent + " " + s(name) + " mode=" + Integer.toOctalString(mode) + " umask="
                + Integer.toOctalString(umask) + extras(ctx));
        check();
        fillEntry(out, 103);
    }

    @Override
    public void unlink(RequestContext ctx, long parent, long name) throws ErrnoException {
        record("unlink " + parent + " " + s(name));
        check();
    }

    @Override
    public void rmdir(RequestContext ctx, long parent, long name) throws ErrnoException {
        record("rmdir " + parent + " " + s(name));
        check();
    }

    @Override
    public void rename(RequestContext ctx, long parent, long name, long newParent, long newName, int flags)
            throws ErrnoException {
        record("rename " + parent + " " + s(name) + " " + newParent + " " + s(newName) + " flags=" + flags);
        check();
    }

    @Override
    public void link(RequestContext ctx, long nodeId, long newParent, long newName, EntryOut out)
            throws ErrnoException {
        record("link " + nodeId + " " + newParent + " " + s(newName));
        check();
        fillEntry(out, nodeId);
    }

    @Override
    public void open(RequestContext ctx, long nodeId, int flags, OpenOut out) throws ErrnoException {
        record("open " + nodeId + " flags=" + Integer.toOctalString(flags) + extras(ctx));
        check();
        out.fh = 555;
        out.openFlags = OpenOut.KEEP_CACHE;
    }

    @Override
    public void create(
            RequestContext ctx, long parent, long name, int mode, int flags, int umask, EntryOut entry, OpenOut open)
            throws ErrnoException {
        record("create " + parent + " " + s(name) + " mode=" + Integer.toOctalString(mode) + " flags="
                + Integer.toOctalString(flags) + " umask=" + Integer.toOctalString(umask) + extras(ctx));
        check();
        fillEntry(entry, 104);
        open.fh = 556;
        open.openFlags = OpenOut.DIRECT_IO;
    }

    @Override
    public void tmpfile(RequestContext ctx, long parent, int mode, int flags, int umask, EntryOut entry, OpenOut open)
            throws ErrnoException {
        record("tmpfile " + parent + " mode=" + Integer.toOctalString(mode) + " flags=" + Integer.toOctalString(flags)
                + " umask=" + Integer.toOctalString(umask) + extras(ctx));
        check();
        fillEntry(entry, 105);
        open.fh = 557;
    }

    @Override
    public int read(RequestContext ctx, long nodeId, long fh, long offset, int size, SegmentList dst)
            throws ErrnoException {
        record("read " + nodeId + " fh=" + fh + " off=" + offset + " size=" + size);
        check();
        lastReadDst = snapshot(dst);
        lastReadCount = dst.count();
        int n = (int) Math.max(0, Math.min(size, fileData.length - offset));
        // scatter like preadv would
        int done = 0;
        for (int i = 0; i < dst.count() && done < n; i++) {
            int c = Math.min(dst.length(i), n - done);
            NativeMemory.putBytes(dst.address(i), fileData, (int) offset + done, c);
            done += c;
        }
        return n;
    }

    @Override
    public int write(RequestContext ctx, long nodeId, long fh, long offset, SegmentList src, boolean killPriv)
            throws ErrnoException {
        record("write " + nodeId + " fh=" + fh + " off=" + offset + " len=" + src.totalLength() + " kill=" + killPriv);
        check();
        lastWriteSrc = snapshot(src);
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        for (int i = 0; i < src.count(); i++) {
            byte[] b = new byte[src.length(i)];
            NativeMemory.getBytes(src.address(i), b, 0, b.length);
            bo.write(b, 0, b.length);
        }
        lastWrite = bo.toByteArray();
        return lastWrite.length;
    }

    @Override
    public void flush(RequestContext ctx, long nodeId, long fh, long lockOwner) throws ErrnoException {
        record("flush " + nodeId + " fh=" + fh + " owner=" + lockOwner);
        check();
    }

    @Override
    public void release(RequestContext ctx, long nodeId, long fh, int flags, long lockOwner, boolean flockRelease)
            throws ErrnoException {
        record("release " + nodeId + " fh=" + fh + " flags=" + flags + " owner=" + lockOwner + " flock="
                + flockRelease);
        check();
    }

    @Override
    public void fsync(RequestContext ctx, long nodeId, long fh, boolean datasync) throws ErrnoException {
        record("fsync " + nodeId + " fh=" + fh + " datasync=" + datasync);
        check();
    }

    @Override
    public void opendir(RequestContext ctx, long nodeId, int flags, OpenOut out) throws ErrnoException {
        record("opendir " + nodeId + " flags=" + flags);
        check();
        out.fh = 600;
        out.openFlags = OpenOut.CACHE_DIR;
    }

    @Override
    public void readdir(RequestContext ctx, long nodeId, long fh, long offset, DirSink sink) throws ErrnoException {
        record("readdir " + nodeId + " fh=" + fh + " off=" + offset + " plus=" + sink.plus());
        check();
        lastReaddirPlus = sink.plus();
        for (int i = (int) offset; i < dirNames.size(); i++) {
            byte[] n = dirNames.get(i).getBytes(StandardCharsets.UTF_8);
            if (!sink.fits(n.length)) {
                break;
            }
            NativeMemory.putBytes(namesAddress, n, 0, n.length);
            boolean dots = dirNames.get(i).equals(".") || dirNames.get(i).equals("..");
            if (sink.plus() && !dots) {
                fillEntry(sink.entry(), 200 + i);
            }
            sink.add(300 + i, i + 1, 8, namesAddress, n.length);
        }
    }

    @Override
    public void releasedir(RequestContext ctx, long nodeId, long fh) throws ErrnoException {
        record("releasedir " + nodeId + " fh=" + fh);
        check();
    }

    @Override
    public void fsyncdir(RequestContext ctx, long nodeId, long fh, boolean datasync) throws ErrnoException {
        record("fsyncdir " + nodeId + " fh=" + fh + " datasync=" + datasync);
        check();
    }

    @Override
    public void statfs(RequestContext ctx, long nodeId, StatfsOut out) throws ErrnoException {
        record("statfs " + nodeId);
        check();
        out.blocks = 1;
        out.bfree = 2;
        out.bavail = 3;
        out.files = 4;
        out.ffree = 5;
        out.bsize = 4096;
        out.namelen = 255;
        out.frsize = 512;
    }

    @Override
    public void access(RequestContext ctx, long nodeId, int mask) throws ErrnoException {
        record("access " + nodeId + " mask=" + mask);
        check();
    }

    /** What the RequestContext carried beyond the caller (killpriv, setxattr flags, security context). */
    static String extras(RequestContext ctx) {
        StringBuilder b = new StringBuilder();
        if (ctx.killSuidGid) {
            b.append(" kill-suidgid");
        }
        if (ctx.setxattrFlags != 0) {
            b.append(" setxattr-flags=").append(ctx.setxattrFlags);
        }
        if (ctx.hasSecctx()) {
            byte[] v = new byte[ctx.secctxSize];
            NativeMemory.getBytes(ctx.secctxValue, v, 0, v.length);
            b.append(" secctx=").append(s(ctx.secctxName)).append('=').append(new String(v, StandardCharsets.UTF_8));
        }
        return b.toString();
    }

    @Override
    public void setxattr(RequestContext ctx, long nodeId, long xattrName, long value, int size, int flags)
            throws ErrnoException {
        byte[] v = new byte[size];
        NativeMemory.getBytes(value, v, 0, size);
        record("setxattr " + nodeId + " " + s(xattrName) + "=" + new String(v, StandardCharsets.UTF_8) + " flags="
                + flags + extras(ctx));
        check();
    }

    @Override
    public int getxattr(RequestContext ctx, long nodeId, long xattrName, long buffer, int capacity)
            throws ErrnoException {
        record("getxattr " + nodeId + " " + s(xattrName) + " cap=" + capacity);
        check();
        return fill(xattrValue, buffer, capacity);
    }

    private static int fill(byte[] v, long buffer, int capacity) throws ErrnoException {
        if (capacity == 0) {
            return v.length;
        }
        if (capacity < v.length) {
            throw ErrnoException.of(Errno.ERANGE);
        }
        NativeMemory.putBytes(buffer, v, 0, v.length);
        return v.length;
    }

    @Override
    public int listxattr(RequestContext ctx, long nodeId, long buffer, int capacity) throws ErrnoException {
        record("listxattr " + nodeId + " cap=" + capacity);
        check();
        return fill(xattrList, buffer, capacity);
    }

    @Override
    public void removexattr(RequestContext ctx, long nodeId, long xattrName) throws ErrnoException {
        record("removexattr " + nodeId + " " + s(xattrName));
        check();
    }

    @Override
    public void fallocate(RequestContext ctx, long nodeId, long fh, int mode, long offset, long length)
            throws ErrnoException {
        record("fallocate " + nodeId + " fh=" + fh + " mode=" + mode + " off=" + offset + " len=" + length);
        check();
    }

    @Override
    public long lseek(RequestContext ctx, long nodeId, long fh, long offset, int whence) throws ErrnoException {
        record("lseek " + nodeId + " fh=" + fh + " off=" + offset + " whence=" + whence);
        check();
        return offset + 4096;
    }

    @Override
    public long copyFileRange(
            RequestContext ctx,
            long nodeIn,
            long fhIn,
            long offIn,
            long nodeOut,
            long fhOut,
            long offOut,
            long length,
            int flags)
            throws ErrnoException {
        record("copy " + nodeIn + " " + fhIn + " " + offIn + " -> " + nodeOut + " " + fhOut + " " + offOut + " len="
                + length + " flags=" + flags);
        check();
        return copyResult >= 0 ? copyResult : length;
    }

    @Override
    public void syncfs(RequestContext ctx, long nodeId) throws ErrnoException {
        record("syncfs " + nodeId);
        check();
    }

    @Override
    public void getlk(RequestContext ctx, long nodeId, long fh, long owner, FileLock lock) throws ErrnoException {
        record("getlk " + nodeId + " fh=" + fh + " owner=" + owner + " " + lock.start + "-" + lock.end + " type="
                + lock.type + " pid=" + lock.pid);
        check();
        lock.type = FileLock.F_WRLCK;
        lock.start = 10;
        lock.end = 20;
        lock.pid = 99;
    }

    @Override
    public void setlk(RequestContext ctx, long nodeId, long fh, long owner, FileLock lock, boolean flock, boolean sleep)
            throws ErrnoException {
        record("setlk " + nodeId + " fh=" + fh + " owner=" + owner + " " + lock.start + "-" + lock.end + " type="
                + lock.type + " flock=" + flock + " sleep=" + sleep);
        check();
    }
}
