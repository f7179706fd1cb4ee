package dev.virtiofsd.passthrough.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.AttrOut;
import dev.virtiofsd.api.fs.DirSink;
import dev.virtiofsd.api.fs.EntryOut;
import dev.virtiofsd.api.fs.FileLock;
import dev.virtiofsd.api.fs.FileSystem;
import dev.virtiofsd.api.fs.InitFlags;
import dev.virtiofsd.api.fs.OpenOut;
import dev.virtiofsd.api.fs.RequestContext;
import dev.virtiofsd.api.fs.SegmentList;
import dev.virtiofsd.api.fs.SetattrIn;
import dev.virtiofsd.api.fs.StatfsOut;
import dev.virtiofsd.linux.Accounts;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.strategy.fd.internal.FdStrategy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Drives the filesystem directly (no kernel) against a temp dir with the fd strategy. */
class PassthroughFileSystemTest {
    @TempDir
    Path dir;

    private PassthroughFileSystem fs;
    private final RequestContext root = new RequestContext().set(1, 0, 0, 1);
    private final List<Long> allocations = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        fs = new PassthroughFileSystem(PassthroughOptions.of(dir), new FdStrategy());
    }

    @AfterEach
    void tearDown() {
        fs.close();
        allocations.forEach(NativeMemory::free);
    }

    private long name(String s) {
        long a = NativeMemory.allocate(s.getBytes(StandardCharsets.UTF_8).length + 1);
        NativeMemory.putString(a, s);
        allocations.add(a);
        return a;
    }

    private long buffer(int size) {
        long a = NativeMemory.allocate(size);
        allocations.add(a);
        return a;
    }

    /** Segments of fixed sizes over native memory. */
    static final class Segments implements SegmentList {
        final long[] addr;
        final int[] len;

        Segments(long[] addr, int[] len) {
            this.addr = addr;
            this.len = len;
        }

        @Override
        public int count() {
            return addr.length;
        }

        @Override
        public long address(int i) {
            return addr[i];
        }

        @Override
        public int length(int i) {
            return len[i];
        }
    }

    private Segments bytes(String s, int split) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        long a1 = buffer(split);
        long a2 = buffer(b.length - split);
        NativeMemory.putBytes(a1, b, 0, split);
        NativeMemory.putBytes(a2, b, split, b.length - split);
        return new Segments(new long[] {a1, a2}, new int[] {split, b.length - split});
    }

    static final class Sink implements DirSink {
        final boolean plus;
        final int max;
        final EntryOut entry = new EntryOut();
        final List<String> names = new ArrayList<>();
        final List<Long> offsets = new ArrayList<>();
        final List<Long> nodes = new ArrayList<>();
        final List<Long> inos = new ArrayList<>();
        final List<Integer> modes = new ArrayList<>();

        Sink(boolean plus, int max) {
            this.plus = plus;
            this.max = max;
        }

        @Override
        public boolean plus() {
            return plus;
        }

        @Override
        public boolean fits(int nameLen) {
            return names.size() < max;
        }

        @Override
        public EntryOut entry() {
            return entry;
        }

        @Override
        public void add(long ino, long nextOffset, int type, long nameAddress, int nameLength) {
            names.add(NativeMemory.getString(nameAddress, nameLength));
            offsets.add(nextOffset);
            nodes.add(entry.nodeId);
            inos.add(ino);
            modes.add(entry.attr.mode);
            entry.clear();
        }
    }

    private static int errno(org.junit.jupiter.api.function.Executable e) {
        return assertThrows(ErrnoException.class, e).errno();
    }

    @Test
    void coreOperations() throws Exception {
        assertEquals(1, fs.inodes());
        EntryOut e = new EntryOut();
        fs.mkdir(root, FileSystem.ROOT_ID, name("d"), 040755, 0, e);
        long d = e.nodeId;
        assertTrue(d > 1);
        assertEquals(040755, e.attr.mode);
        assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("d"))));
        assertEquals(1_000_000_000L, e.entryTimeoutNanos);

        OpenOut open = new OpenOut();
        e.clear();
        fs.create(root, d, name("f"), 0100644, Linux.O_RDWR, 0, e, open);
        long f = e.nodeId;
        long fh = open.fh;
        assertEquals(0100644, e.attr.mode);
        assertEquals(0, open.openFlags);

        String text = "hello, passthrough";
        assertEquals(text.length(), fs.write(root, f, fh, 0, bytes(text, 5), false));
        assertEquals(text, Files.readString(dir.resolve("d/f")));

        long b1 = buffer(7);
        long b2 = buffer(64);
        int n = fs.read(root, f, fh, 0, 100, new Segments(new long[] {b1, b2}, new int[] {7, 64}));
        assertEquals(text.length(), n);
        assertEquals(text, NativeMemory.getString(b1, 7) + NativeMemory.getString(b2, n - 7));
        assertEquals(
                Errno.EBADF, errno(() -> fs.read(root, f, 9999, 0, 10, new Segments(new long[] {b1}, new int[] {7}))));
        assertEquals(
                Errno.EBADF, errno(() -> fs.read(root, d, fh, 0, 10, new Segments(new long[] {b1}, new int[] {7}))));

        // lookup again: same node, one more lookup
        EntryOut e2 = new EntryOut();
        fs.lookup(root, d, name("f"), e2);
        assertEquals(f, e2.nodeId);
        assertEquals(text.length(), e2.attr.size);
        assertEquals(Errno.ENOENT, errno(() -> fs.lookup(root, d, name("missing"), new EntryOut())));

        AttrOut attr = new AttrOut();
        fs.getattr(root, f, -1, attr);
        assertEquals(text.length(), attr.attr.size);
        assertEquals(Files.getAttribute(dir.resolve("d/f"), "unix:ino"), attr.attr.ino);

        SetattrIn in = new SetattrIn();
        in.valid = SetattrIn.FATTR_SIZE | SetattrIn.FATTR_MODE | SetattrIn.FATTR_MTIME;
        in.size = 5;
        in.mode = 0600;
        in.mtime = 1_000_000;
        in.mtimensec = 5;
        fs.setattr(root, f, in, attr);
        assertEquals(5, attr.attr.size);
        assertEquals(0100600, attr.attr.mode);
        assertEquals(1_000_000, attr.attr.mtime);
        assertEquals(5, attr.attr.mtimensec);
        assertEquals("hello", Files.readString(dir.resolve("d/f")));

        fs.flush(root, f, fh, 7);
        fs.release(root, f, fh, 0, 0, false);
        assertEquals(Errno.EBADF, errno(() -> fs.release(root, f, fh, 0, 0, false)));

        // readdir, whole and in small pieces through offsets
        Files.writeString(dir.resolve("d/g"), "g");
        Files.createDirectory(dir.resolve("d/sub"));
        open.clear();
        fs.opendir(root, d, 0, open);
        long dh = open.fh;
        Sink all = new Sink(false, 100);
        fs.readdir(root, d, dh, 0, all);
        assertEquals(Set.of(".", "..", "f", "g", "sub"), new HashSet<>(all.names));
        Sink empty = new Sink(false, 100);
        fs.readdir(root, d, dh, all.offsets.get(all.offsets.size() - 1), empty);
        assertTrue(empty.names.isEmpty());
        List<String> pieces = new ArrayList<>();
        long off = 0;
        while (true) {
            Sink one = new Sink(false, 2);
            fs.readdir(root, d, dh, off, one);
            if (one.names.isEmpty()) {
                break;
            }
            pieces.addAll(one.names);
            off = one.offsets.get(one.offsets.size() - 1);
        }
        assertEquals(all.names, pieces);

        long before = fs.store().lookups(fs.store().get(f));
        Sink plus = new Sink(true, 100);
        fs.readdir(root, d, dh, 0, plus);
        for (int i = 0; i < plus.names.size(); i++) {
            String nm = plus.names.get(i);
            if (nm.equals(".") || nm.equals("..")) {
                assertEquals(0L, plus.nodes.get(i));
            } else {
                assertTrue(plus.nodes.get(i) > 1, nm);
            }
            if (nm.equals("f")) {
                assertEquals(f, plus.nodes.get(i));
            }
        }
        assertEquals(before + 1, fs.store().lookups(fs.store().get(f)));
        fs.releasedir(root, d, dh);
        assertEquals(0, fs.openFiles());

        StatfsOut sf = new StatfsOut();
        fs.statfs(root, d, sf);
        assertTrue(sf.blocks > 0 && sf.bsize > 0 && sf.namelen > 0);

        // unlink and forget: the inode and its fd go away
        long inodes = fs.inodes();
        long fds = fs.inodeFds();
        fs.unlink(root, d, name("f"));
        assertFalse(Files.exists(dir.resolve("d/f")));
        fs.forget(f, fs.store().lookups(fs.store().get(f)));
        assertNull(fs.store().get(f));
        assertEquals(inodes - 1, fs.inodes());
        assertEquals(fds - 1, fs.inodeFds());
        assertEquals(Errno.EBADF, errno(() -> fs.getattr(root, f, -1, new AttrOut())));

        assertEquals(Errno.ENOTEMPTY, errno(() -> fs.rmdir(root, FileSystem.ROOT_ID, name("d"))));

        fs.destroy();
        assertEquals(1, fs.inodes());
        assertEquals(1, fs.inodeFds());
        assertEquals("fd", fs.strategy());
    }

    @Test
    void dotsAndSymlinksStayInside() throws Exception {
        EntryOut e = new EntryOut();
        fs.lookup(root, FileSystem.ROOT_ID, name(".."), e);
        assertEquals(FileSystem.ROOT_ID, e.nodeId);
        fs.lookup(root, FileSystem.ROOT_ID, name("."), e);
        assertEquals(FileSystem.ROOT_ID, e.nodeId);

        Files.createDirectory(dir.resolve("a"));
        fs.lookup(root, FileSystem.ROOT_ID, name("a"), e);
        long a = e.nodeId;
        fs.lookup(root, a, name(".."), e);
        assertEquals(FileSystem.ROOT_ID, e.nodeId);
        fs.lookup(root, a, name("."), e);
        assertEquals(a, e.nodeId);

        Files.createSymbolicLink(dir.resolve("esc"), Path.of("/etc"));
        fs.lookup(root, FileSystem.ROOT_ID, name("esc"), e);
        assertEquals(Linux.S_IFLNK, e.attr.mode & Linux.S_IFMT);
        long esc = e.nodeId;
        assertEquals(Errno.ENOTDIR, errno(() -> fs.lookup(root, esc, name("passwd"), new EntryOut())));
        long buf = buffer(64);
        int n = fs.readlink(root, esc, buf, 64);
        assertEquals("/etc", NativeMemory.getString(buf, n));
        // Only regular files and directories are opened for the guest (EBADF, as Rust virtiofsd).
        assertEquals(Errno.EBADF, errno(() -> fs.open(root, esc, Linux.O_RDONLY, new OpenOut())));

        fs.symlink(root, a, name("l"), name("../x"), e);
        assertEquals(Path.of("../x"), Files.readSymbolicLink(dir.resolve("a/l")));
    }

    @Test
    void namespaceOperations() throws Exception {
        Files.writeString(dir.resolve("x"), "x");
        EntryOut e = new EntryOut();
        fs.lookup(root, FileSystem.ROOT_ID, name("x"), e);
        long x = e.nodeId;
        fs.link(root, x, FileSystem.ROOT_ID, name("y"), e);
        assertEquals(x, e.nodeId);
        assertEquals(2, e.attr.nlink);
        fs.rename(root, FileSystem.ROOT_ID, name("y"), FileSystem.ROOT_ID, name("z"), 0);
        assertTrue(Files.exists(dir.resolve("z")));
        Files.writeString(dir.resolve("w"), "w");
        assertEquals(
                Errno.EEXIST,
                errno(() -> fs.rename(
                        root, FileSystem.ROOT_ID, name("z"), FileSystem.ROOT_ID, name("w"), Linux.RENAME_NOREPLACE)));
        fs.rename(root, FileSystem.ROOT_ID, name("z"), FileSystem.ROOT_ID, name("w"), Linux.RENAME_EXCHANGE);
        assertEquals("x", Files.readString(dir.resolve("w")));
        assertEquals("w", Files.readString(dir.resolve("z")));

        fs.mknod(root, FileSystem.ROOT_ID, name("fifo"), Linux.S_IFIFO | 0640, 0, 0, e);
        assertEquals(Linux.S_IFIFO | 0640, e.attr.mode);
        assertTrue(Files.readAttributes(dir.resolve("fifo"), java.nio.file.attribute.BasicFileAttributes.class)
                .isOther());

        assertEquals(Errno.EEXIST, errno(() -> fs.mkdir(root, FileSystem.ROOT_ID, name("x"), 0755, 0, new EntryOut())));
        assertEquals(Errno.ENOTDIR, errno(() -> fs.rmdir(root, FileSystem.ROOT_ID, name("fifo"))));
    }

    @Test
    void creationRunsAsTheCaller() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        RequestContext user = new RequestContext().set(2, 1234, 2345, 1);
        EntryOut e = new EntryOut();
        OpenOut o = new OpenOut();
        fs.create(user, FileSystem.ROOT_ID, name("owned"), 0100640, Linux.O_WRONLY, 0, e, o);
        fs.mkdir(user, FileSystem.ROOT_ID, name("owned-dir"), 040750, 0, e);
        int expectUid = Accounts.euid() == 0 ? 1234 : Accounts.euid();
        assertEquals(expectUid, Files.getAttribute(dir.resolve("owned"), "unix:uid", LinkOption.NOFOLLOW_LINKS));
        assertEquals(expectUid, Files.getAttribute(dir.resolve("owned-dir"), "unix:uid", LinkOption.NOFOLLOW_LINKS));
        if (Accounts.euid() == 0) {
            assertEquals(2345, Files.getAttribute(dir.resolve("owned"), "unix:gid", LinkOption.NOFOLLOW_LINKS));
        }
        // the worker thread got its credentials back
        fs.mkdir(root, FileSystem.ROOT_ID, name("root-dir"), 040755, 0, e);
        assertEquals(Accounts.euid(), Files.getAttribute(dir.resolve("root-dir"), "unix:uid"));
    }

    @Test
    void readonlyRefusesMutations() throws Exception {
        fs.close();
        Files.writeString(dir.resolve("r"), "r");
        fs = new PassthroughFileSystem(PassthroughOptions.of(dir).readonly(true).cache("never"), new FdStrategy());
        EntryOut e = new EntryOut();
        fs.lookup(root, FileSystem.ROOT_ID, name("r"), e);
        long r = e.nodeId;
        assertEquals(0, e.entryTimeoutNanos);
        assertEquals(Errno.EROFS, errno(() -> fs.mkdir(root, FileSystem.ROOT_ID, name("m"), 0755, 0, new EntryOut())));
        assertEquals(Errno.EROFS, errno(() -> fs.unlink(root, FileSystem.ROOT_ID, name("r"))));
        assertEquals(Errno.EROFS, errno(() -> fs.open(root, r, Linux.O_WRONLY, new OpenOut())));
        assertEquals(Errno.EROFS, errno(() -> fs.open(root, r, Linux.O_RDONLY | Linux.O_TRUNC, new OpenOut())));
        SetattrIn in = new SetattrIn();
        in.valid = SetattrIn.FATTR_MODE;
        in.mode = 0777;
        assertEquals(Errno.EROFS, errno(() -> fs.setattr(root, r, in, new AttrOut())));
        OpenOut o = new OpenOut();
        fs.open(root, r, Linux.O_RDONLY, o);
        assertEquals(OpenOut.DIRECT_IO, o.openFlags);
        assertEquals(Errno.ENOSYS, errno(() -> fs.getxattr(root, r, name("user.x"), 0, 0)));
        assertTrue(Files.exists(dir.resolve("r")));
    }

    @Test
    void posixLocksAndFlock() throws Exception {
        Files.writeString(dir.resolve("l"), "locks");
        EntryOut e = new EntryOut();
        fs.lookup(root, FileSystem.ROOT_ID, name("l"), e);
        long l = e.nodeId;
        OpenOut o = new OpenOut();
        fs.open(root, l, Linux.O_RDWR, o);
        long fh = o.fh;
        FileLock lock = new FileLock();
        lock.type = FileLock.F_WRLCK;
        lock.start = 0;
        lock.end = Long.MAX_VALUE;
        fs.setlk(root, l, fh, 1, lock, false, false);

        FileLock probe = new FileLock();
        probe.type = FileLock.F_WRLCK;
        probe.start = 10;
        probe.end = 20;
        fs.getlk(root, l, fh, 2, probe);
        assertEquals(FileLock.F_WRLCK, probe.type);
        FileLock again = new FileLock();
        again.type = FileLock.F_RDLCK;
        again.start = 0;
        again.end = 0;
        assertEquals(Errno.EAGAIN, errno(() -> fs.setlk(root, l, fh, 2, again, false, false)));
        // the owner's flush drops its locks
        fs.flush(root, l, fh, 1);
        probe.type = FileLock.F_WRLCK;
        probe.start = 10;
        probe.end = 20;
        fs.getlk(root, l, fh, 2, probe);
        assertEquals(FileLock.F_UNLCK, probe.type);

        OpenOut o2 = new OpenOut();
        fs.open(root, l, Linux.O_RDONLY, o2);
        FileLock ex = new FileLock();
        ex.type = FileLock.F_WRLCK;
        fs.setlk(root, l, fh, 1, ex, true, false);
        assertEquals(Errno.EAGAIN, errno(() -> fs.setlk(root, l, o2.fh, 3, ex, true, false)));
        ex.type = FileLock.F_UNLCK;
        fs.setlk(root, l, fh, 1, ex, true, false);
        ex.type = FileLock.F_WRLCK;
        fs.setlk(root, l, o2.fh, 3, ex, true, false);

        // A sleeping lock waits for the holder and gives up with EINTR when its thread is interrupted.
        int[] result = {-1};
        Thread waiter = new Thread(() -> {
            try {
                fs.setlk(root, l, fh, 1, ex, true, true);
                result[0] = 0;
            } catch (ErrnoException err) {
                result[0] = err.errno();
            }
        });
        waiter.start();
        waiter.join(200);
        assertTrue(waiter.isAlive(), "waits while the lock is held");
        waiter.interrupt();
        waiter.join(5000);
        assertEquals(Errno.EINTR, result[0]);

        Thread taker = new Thread(() -> {
            try {
                fs.setlk(root, l, fh, 1, ex, true, true);
                result[0] = 0;
            } catch (ErrnoException err) {
                result[0] = err.errno();
            }
        });
        taker.start();
        Thread.sleep(100);
        FileLock un = new FileLock();
        un.type = FileLock.F_UNLCK;
        fs.setlk(root, l, o2.fh, 3, un, true, false);
        taker.join(5000);
        assertEquals(0, result[0], "got the lock once it was released");

        // release drops the OFD-style locks of owners that used the file
        FileLock w = new FileLock();
        w.type = FileLock.F_WRLCK;
        w.end = Long.MAX_VALUE;
        fs.setlk(root, l, o2.fh, 42, w, false, false);
        FileLock q = new FileLock();
        q.type = FileLock.F_WRLCK;
        q.end = Long.MAX_VALUE;
        fs.getlk(root, l, fh, 43, q);
        assertEquals(FileLock.F_WRLCK, q.type);
        fs.release(root, l, o2.fh, 0, 0, false);
        q.type = FileLock.F_WRLCK;
        fs.getlk(root, l, fh, 43, q);
        assertEquals(FileLock.F_UNLCK, q.type);
    }

    @Test
    void dataOperations() throws Exception {
        EntryOut e = new EntryOut();
        OpenOut o = new OpenOut();
        fs.create(root, FileSystem.ROOT_ID, name("data"), 0100644, Linux.O_RDWR, 0, e, o);
        long node = e.nodeId;
        fs.fallocate(root, node, o.fh, 0, 0, 1 << 20);
        assertEquals(1 << 20, Files.size(dir.resolve("data")));
        fs.write(root, node, o.fh, 1 << 19, bytes("data!", 2), false);
        long data = fs.lseek(root, node, o.fh, 0, Linux.SEEK_DATA);
        assertTrue(data >= 0 && data <= 1 << 19);
        long hole = fs.lseek(root, node, o.fh, 1 << 19, Linux.SEEK_HOLE);
        assertTrue(hole > 1 << 19);
        OpenOut o2 = new OpenOut();
        EntryOut e2 = new EntryOut();
        fs.create(root, FileSystem.ROOT_ID, name("copy"), 0100644, Linux.O_RDWR, 0, e2, o2);
        assertEquals(5, fs.copyFileRange(root, node, o.fh, 1 << 19, e2.nodeId, o2.fh, 0, 5, 0));
        assertEquals("data!", Files.readString(dir.resolve("copy")));
        fs.fsync(root, node, o.fh, true);
        fs.syncfs(root, FileSystem.ROOT_ID);
        fs.access(root, node, 4);
        RequestContext other = new RequestContext().set(3, 4321, 4321, 1);
        assertEquals(Errno.EACCES, errno(() -> fs.access(other, node, 2)));

        EntryOut te = new EntryOut();
        OpenOut to = new OpenOut();
        fs.tmpfile(root, FileSystem.ROOT_ID, 0100600, Linux.O_RDWR, 0, te, to);
        assertTrue(te.nodeId > 1);
        assertEquals(0, te.attr.nlink);
        assertEquals(3, fs.write(root, te.nodeId, to.fh, 0, bytes("tmp", 1), false));
        assertNotEquals(node, te.nodeId);
        assertSame(fs.store().get(te.nodeId), fs.store().get(te.nodeId));
    }

    @Test
    void setattrBitsAndXattrs() throws Exception {
        fs.close();
        fs = new PassthroughFileSystem(PassthroughOptions.of(dir).xattr(true).cache("always"), new FdStrategy());
        EntryOut e = new EntryOut();
        OpenOut o = new OpenOut();
        fs.create(root, FileSystem.ROOT_ID, name("s"), 0100755, Linux.O_RDWR, 0, e, o);
        assertEquals(OpenOut.KEEP_CACHE, o.openFlags);
        assertEquals(86_400_000_000_000L, e.attrTimeoutNanos);
        long s = e.nodeId;
        AttrOut a = new AttrOut();
        SetattrIn in = new SetattrIn();
        in.valid = SetattrIn.FATTR_MODE;
        in.mode = 06755;
        fs.setattr(root, s, in, a);
        assertEquals(0106755, a.attr.mode);
        in.valid = SetattrIn.FATTR_KILL_SUIDGID;
        fs.setattr(root, s, in, a);
        assertEquals(0100755, a.attr.mode, "setuid and (group-executable) setgid cleared");

        in.valid = SetattrIn.FATTR_ATIME | SetattrIn.FATTR_MTIME;
        in.atime = 100;
        in.mtime = 200;
        fs.setattr(root, s, in, a);
        assertEquals(100, a.attr.atime);
        assertEquals(200, a.attr.mtime);
        in.valid = SetattrIn.FATTR_MTIME_NOW | SetattrIn.FATTR_FH;
        in.fh = o.fh;
        fs.setattr(root, s, in, a);
        assertEquals(100, a.attr.atime, "atime omitted");
        assertTrue(a.attr.mtime > 1_600_000_000L, "mtime now");

        if (Accounts.euid() == 0) {
            in.valid = SetattrIn.FATTR_UID | SetattrIn.FATTR_GID;
            in.uid = 777;
            in.gid = 888;
            fs.setattr(root, s, in, a);
            assertEquals(777, a.attr.uid);
            assertEquals(888, a.attr.gid);
        }

        // symlink times are set on the link itself
        Files.createSymbolicLink(dir.resolve("sl"), Path.of("s"));
        fs.lookup(root, FileSystem.ROOT_ID, name("sl"), e);
        in.valid = SetattrIn.FATTR_MTIME;
        in.mtime = 300;
        fs.setattr(root, e.nodeId, in, a);
        assertEquals(300, a.attr.mtime);
        assertEquals(Linux.S_IFLNK, a.attr.mode & Linux.S_IFMT);
        assertTrue(Files.getLastModifiedTime(dir.resolve("s")).toMillis() / 1000 > 1_600_000_000L);

        long value = name("v1");
        fs.setxattr(root, s, name("user.k"), value, 2, 0);
        assertEquals(2, fs.getxattr(root, s, name("user.k"), 0, 0));
        long buf = buffer(64);
        assertEquals(2, fs.getxattr(root, s, name("user.k"), buf, 64));
        assertEquals("v1", NativeMemory.getString(buf, 2));
        int n = fs.listxattr(root, s, buf, 64);
        assertTrue(NativeMemory.getString(buf, n).contains("user.k"));
        assertEquals(Errno.ERANGE, errno(() -> fs.getxattr(root, s, name("user.k"), buf, 1)));
        fs.removexattr(root, s, name("user.k"));
        assertEquals(Errno.ENODATA, errno(() -> fs.getxattr(root, s, name("user.k"), buf, 64)));

        o.clear();
        fs.opendir(root, FileSystem.ROOT_ID, 0, o);
        assertEquals(OpenOut.CACHE_DIR, o.openFlags);
        fs.fsyncdir(root, FileSystem.ROOT_ID, o.fh, false);
        assertEquals(Errno.EBADF, errno(() -> fs.fsync(root, FileSystem.ROOT_ID, o.fh, false)));
    }

    @Test
    void initFlags() {
        long all = -1L;
        long flags = fs.initFlags(all);
        assertEquals(0, flags & InitFlags.SUBMOUNTS);
        assertTrue((flags & InitFlags.DO_READDIRPLUS) != 0);
        assertTrue((flags & (1L << 1)) != 0 && (flags & (1L << 10)) != 0, "posix and flock locks");
        assertEquals(0, fs.initFlags(0));
        assertEquals(1L << 5, fs.initFlags(1L << 5));
    }
}
