package dev.virtiofsd.passthrough.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.EntryOut;
import dev.virtiofsd.api.fs.FileLock;
import dev.virtiofsd.api.fs.FileSystem;
import dev.virtiofsd.api.fs.InitFlags;
import dev.virtiofsd.api.fs.OpenOut;
import dev.virtiofsd.api.fs.RequestContext;
import dev.virtiofsd.api.fs.SetattrIn;
import dev.virtiofsd.api.fs.SingleSegment;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.strategy.fd.internal.FdStrategy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a lying guest gets from the filesystem itself: special files are never opened, fds are closed
 * only by their last user, and lock fds are bounded. Each case checks the errno, that nothing was
 * opened on the host (this process's /proc/self/fd), and that the next normal request is served.
 */
class SpecialFilesAndOwnershipTest {
    @TempDir
    Path dir;

    private PassthroughFileSystem fs;
    private final RequestContext root = new RequestContext().set(1, 0, 0, 1);
    private final List<Long> allocations = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        fs = new PassthroughFileSystem(PassthroughOptions.of(dir), new FdStrategy());
        Files.writeString(dir.resolve("plain"), "plain data");
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

    private static int errno(ThrowingRunnable r) {
        try {
            r.run();
            return 0;
        } catch (ErrnoException e) {
            return e.errno();
        }
    }

    interface ThrowingRunnable {
        void run() throws ErrnoException;
    }

    /** fuse's encoding of a device number (the kernel's new_encode_dev). */
    private static int fuseDev(int major, int minor) {
        return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
    }

    /** Targets of this process's fds that are not sockets, pipes or anonymous inodes. */
    private static List<String> openFiles() throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Paths.get("/proc/self/fd"))) {
            for (Path p : (Iterable<Path>) fds::iterator) {
                try {
                    out.add(Files.readSymbolicLink(p).toString());
                } catch (IOException e) {
                    // closed meanwhile (the listing's own fd)
                }
            }
        }
        return out;
    }

    /** Fds of this process open on {@code path} for I/O; O_PATH fds count too, so callers exclude held inodes. */
    private static long openOn(Path path) throws IOException {
        return openFiles().stream().filter(t -> t.equals(path.toString())).count();
    }

    private long lookup(String n) throws ErrnoException {
        EntryOut e = new EntryOut();
        fs.lookup(root, FileSystem.ROOT_ID, name(n), e);
        return e.nodeId;
    }

    private void plainFileStillServed() throws Exception {
        long node = lookup("plain");
        OpenOut o = new OpenOut();
        fs.open(root, node, Linux.O_RDONLY, o);
        long buf = NativeMemory.allocate(64);
        allocations.add(buf);
        int n = fs.read(root, node, o.fh, 0, 64, new SingleSegment(buf, 64));
        assertEquals("plain data", NativeMemory.getString(buf, n));
        fs.release(root, node, o.fh, 0, 0, false);
    }

    private void mknod(String n, int mode, int rdev) throws ErrnoException {
        fs.mknod(root, FileSystem.ROOT_ID, name(n), mode, rdev, 0, new EntryOut());
    }

    @Test
    void devicesFifosSocketsAndSymlinksAreNeverOpened() throws Exception {
        mknod("chr", Linux.S_IFCHR | 0666, fuseDev(1, 5)); // the host's /dev/zero
        mknod("blk", Linux.S_IFBLK | 0666, fuseDev(7, 250)); // a loop device number
        mknod("fifo", Linux.S_IFIFO | 0666, 0);
        mknod("sock", Linux.S_IFSOCK | 0666, 0);
        fs.symlink(root, FileSystem.ROOT_ID, name("link"), name("plain"), new EntryOut());
        for (String n : new String[] {"chr", "blk", "fifo", "sock", "link"}) {
            long node = lookup(n);
            long before = openOn(dir.resolve(n)); // the inode's own O_PATH fd
            for (int flags :
                    new int[] {Linux.O_RDONLY, Linux.O_WRONLY, Linux.O_RDWR, Linux.O_RDONLY | Linux.O_NONBLOCK}) {
                assertEquals(Errno.EBADF, errno(() -> fs.open(root, node, flags, new OpenOut())), n + " OPEN " + flags);
            }
            assertEquals(Errno.EBADF, errno(() -> fs.opendir(root, node, 0, new OpenOut())), n + " OPENDIR");
            SetattrIn truncate = new SetattrIn();
            truncate.valid = SetattrIn.FATTR_SIZE;
            truncate.size = 0;
            assertEquals(
                    Errno.EBADF,
                    errno(() -> fs.setattr(root, node, truncate, new dev.virtiofsd.api.fs.AttrOut())),
                    n + " SETATTR size");
            FileLock lock = new FileLock();
            lock.type = FileLock.F_WRLCK;
            lock.end = Long.MAX_VALUE;
            assertEquals(Errno.EBADF, errno(() -> fs.getlk(root, node, 0, 7, lock)), n + " GETLK");
            assertEquals(Errno.EBADF, errno(() -> fs.setlk(root, node, 0, 7, lock, false, false)), n + " SETLK");
            assertEquals(Errno.EBADF, errno(() -> fs.setlk(root, node, 0, 7, lock, false, true)), n + " SETLKW");
            assertEquals(Errno.EBADF, errno(() -> fs.setlk(root, node, 0, 7, lock, true, false)), n + " flock");
            // syncfs falls back to the shared directory's filesystem instead of opening the node
            fs.syncfs(root, node);
            assertEquals(before, openOn(dir.resolve(n)), n + ": nothing more opened on the host");
            assertEquals(0, fs.openFiles());
            assertEquals(0, fs.lockFds());
        }
        // CREATE on an existing special file (without O_EXCL) must not open it either.
        for (String n : new String[] {"chr", "blk", "fifo", "sock"}) {
            assertEquals(
                    Errno.EBADF,
                    errno(() -> fs.create(
                            root, FileSystem.ROOT_ID, name(n), 0644, Linux.O_RDWR, 0, new EntryOut(), new OpenOut())),
                    n + " CREATE");
        }
        assertEquals(
                Errno.EBADF,
                errno(() -> fs.create(
                        root, FileSystem.ROOT_ID, name("link"), 0644, Linux.O_RDWR, 0, new EntryOut(), new OpenOut())));
        assertEquals(
                "plain data", Files.readString(dir.resolve("plain")), "CREATE through a symlink did not follow it");
        Files.createDirectory(dir.resolve("d"));
        assertEquals(
                Errno.EISDIR,
                errno(() -> fs.create(
                        root, FileSystem.ROOT_ID, name("d"), 0644, Linux.O_RDWR, 0, new EntryOut(), new OpenOut())));
        assertEquals(
                Errno.EEXIST,
                errno(() -> fs.create(
                        root,
                        FileSystem.ROOT_ID,
                        name("plain"),
                        0644,
                        Linux.O_RDWR | Linux.O_EXCL,
                        0,
                        new EntryOut(),
                        new OpenOut())));
        // CREATE of an existing regular file opens it (and truncates with O_TRUNC)
        OpenOut co = new OpenOut();
        EntryOut ce = new EntryOut();
        fs.create(root, FileSystem.ROOT_ID, name("plain"), 0644, Linux.O_RDWR, 0, ce, co);
        fs.release(root, ce.nodeId, co.fh, 0, 0, false);
        assertEquals(0, fs.openFiles());
        plainFileStillServed();
    }

    @Test
    void openNeverCreatesNorHandsOutAPathFd() throws Exception {
        Files.createDirectory(dir.resolve("d"));
        long d = lookup("d");
        // O_TMPFILE through OPEN would make an unnamed file as root; O_PATH would make an fh useless for I/O.
        OpenOut o = new OpenOut();
        int err = errno(() -> fs.open(root, d, Linux.O_TMPFILE | Linux.O_RDWR, o));
        assertEquals(Errno.EISDIR, err, "O_TMPFILE is stripped: opening a directory for writing is EISDIR");
        long p = lookup("plain");
        OpenOut po = new OpenOut();
        fs.open(root, p, Linux.O_PATH | Linux.O_RDONLY, po);
        long buf = NativeMemory.allocate(16);
        allocations.add(buf);
        assertEquals(10, fs.read(root, p, po.fh, 0, 16, new SingleSegment(buf, 16)), "a real fd, not O_PATH");
        fs.release(root, p, po.fh, 0, 0, false);
    }

    @Test
    void releaseAndDestroyLeaveAnFdInUseToItsLastUser() throws Exception {
        long p = lookup("plain");
        OpenOut o = new OpenOut();
        fs.open(root, p, Linux.O_RDONLY, o);
        OpenFile inFlight = fs.files().get(o.fh);
        assertTrue(inFlight.tryRetain(), "a READ on another queue holds the file");
        fs.release(root, p, o.fh, 0, 0, false);
        fs.destroy();
        // The fd is still the file's: no other open can have been given its number.
        long buf = NativeMemory.allocate(16);
        allocations.add(buf);
        assertEquals(10, Linux.pread(inFlight.fd, buf, 16, 0));
        assertEquals(
                Errno.EBADF, errno(() -> fs.read(root, p, o.fh, 0, 16, new SingleSegment(buf, 16))), "the fh is gone");
        assertNull(fs.store().get(p), "the inode left the store");
        assertTrue(inFlight.inode.refs() > 0, "the open file keeps its inode");
        inFlight.close();
        assertEquals(0, inFlight.inode.refs(), "freed by the last user");
        assertEquals(0, openOn(dir.resolve("plain")), "the file's fd and the inode's O_PATH fd are closed now");
        plainFileStillServed();
    }

    @Test
    void lockOwnersCostNoFdForGetlkAndAreCappedForSetlk() throws Exception {
        long p = lookup("plain");
        OpenOut o = new OpenOut();
        fs.open(root, p, Linux.O_RDWR, o);
        FileLock probe = new FileLock();
        for (long owner = 1; owner <= 100_000; owner++) {
            probe.type = FileLock.F_WRLCK;
            probe.start = 0;
            probe.end = Long.MAX_VALUE;
            fs.getlk(root, p, o.fh, owner, probe);
            assertEquals(FileLock.F_UNLCK, probe.type);
        }
        assertEquals(0, fs.lockFds(), "GETLK keeps no fd per owner");
        // Unlocking for an owner that never locked opens nothing.
        FileLock un = new FileLock();
        un.type = FileLock.F_UNLCK;
        un.end = Long.MAX_VALUE;
        fs.setlk(root, p, o.fh, 555, un, false, false);
        assertEquals(0, fs.lockFds());

        fs.maxLockFds(8);
        FileLock rd = new FileLock();
        rd.type = FileLock.F_RDLCK;
        rd.end = Long.MAX_VALUE;
        for (long owner = 1; owner <= 8; owner++) {
            fs.setlk(root, p, o.fh, owner, rd, false, false);
        }
        assertEquals(8, fs.lockFds());
        assertEquals(Errno.ENOLCK, errno(() -> fs.setlk(root, p, o.fh, 9, rd, false, false)), "beyond the cap");
        assertEquals(Errno.ENOLCK, errno(() -> fs.setlk(root, p, o.fh, 10, rd, false, true)), "SETLKW too");
        // an owner that has its fd keeps working
        fs.setlk(root, p, o.fh, 3, rd, false, false);
        fs.release(root, p, o.fh, 0, 0, false);
        assertEquals(0, fs.lockFds(), "RELEASE gave the lock fds back");
        assertFalse(fs.store().fds() > 2, "and their budget");
        plainFileStillServed();
    }

    /** The octal "flags:" line of /proc/self/fdinfo/FD: the open flags the host file really has. */
    private static int fdFlags(int fd) throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/self/fdinfo/" + fd))) {
            if (line.startsWith("flags:")) {
                return Integer.parseInt(line.substring(6).trim(), 8);
            }
        }
        throw new IOException("no flags in fdinfo of " + fd);
    }

    /**
     * Issue 11's options change the open flags (writeback, --allow-direct-io) and act on truncating
     * opens (killpriv_v2): none of that may open a special file or let O_PATH/O_TMPFILE through.
     */
    @Test
    void virtiofsdOptionsKeepTheOpenRules() throws Exception {
        fs.close();
        PassthroughFeatures f = PassthroughFeatures.DEFAULTS
                .withKillprivV2(true)
                .withWriteback(true)
                .withAllowDirectIo(true);
        fs = new PassthroughFileSystem(PassthroughOptions.of(dir).features(f), new FdStrategy());
        long granted = fs.initFlags(InitFlags.WRITEBACK_CACHE | InitFlags.HANDLE_KILLPRIV_V2 | InitFlags.POSIX_LOCKS);
        assertTrue((granted & InitFlags.WRITEBACK_CACHE) != 0);
        RequestContext killer = new RequestContext().set(2, 0, 0, 1);
        killer.killSuidGid = true;
        mknod("fifo", Linux.S_IFIFO | 0666, 0);
        mknod("chr", Linux.S_IFCHR | 0666, fuseDev(1, 5));
        for (String n : new String[] {"fifo", "chr"}) {
            long node = lookup(n);
            long before = openOn(dir.resolve(n));
            for (int flags : new int[] {
                Linux.O_WRONLY | Linux.O_TRUNC,
                Linux.O_RDWR | Linux.O_TRUNC | Linux.O_DIRECT | Linux.O_PATH,
                Linux.O_WRONLY | Linux.O_APPEND | Linux.O_NOATIME
            }) {
                killer.killSuidGid = true;
                assertEquals(
                        Errno.EBADF, errno(() -> fs.open(killer, node, flags, new OpenOut())), n + " OPEN " + flags);
            }
            assertEquals(
                    Errno.EBADF,
                    errno(() -> fs.create(
                            killer,
                            FileSystem.ROOT_ID,
                            name(n),
                            0644,
                            Linux.O_WRONLY | Linux.O_TRUNC,
                            0,
                            new EntryOut(),
                            new OpenOut())),
                    n + " CREATE O_TRUNC");
            assertEquals(before, openOn(dir.resolve(n)), n + ": nothing more opened on the host");
        }
        assertEquals(0, fs.openFiles());

        // A setuid regular file: killpriv clears the bit; writeback makes write-only read-write and
        // drops O_APPEND; --allow-direct-io keeps O_DIRECT; O_PATH is still stripped.
        Path suid = dir.resolve("suid");
        Files.writeString(suid, "setuid data");
        assertEquals(
                0, new ProcessBuilder("chmod", "4755", suid.toString()).start().waitFor());
        long node = lookup("suid");
        OpenOut o = new OpenOut();
        killer.killSuidGid = true;
        fs.open(killer, node, Linux.O_WRONLY | Linux.O_TRUNC | Linux.O_APPEND | Linux.O_DIRECT | Linux.O_PATH, o);
        int flags = fdFlags(fs.files().get(o.fh).fd);
        assertEquals(0, flags & Linux.O_PATH, "not an O_PATH fd");
        assertEquals(Linux.O_RDWR, flags & Linux.O_ACCMODE, "writeback: write-only became read-write");
        assertEquals(0, flags & Linux.O_APPEND, "writeback: O_APPEND is the guest's");
        assertEquals(Linux.O_DIRECT, flags & Linux.O_DIRECT, "--allow-direct-io keeps O_DIRECT");
        assertEquals(0, Files.size(suid), "truncated");
        String perms = java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(suid));
        assertEquals("rwxr-xr-x", perms);
        assertEquals(
                0,
                ((Integer) Files.getAttribute(suid, "unix:mode")) & Linux.S_ISUID,
                "killpriv_v2 cleared setuid on the truncating open");
        fs.release(root, node, o.fh, 0, 0, false);
        // OPEN never creates, O_TMPFILE included, whatever the options.
        Files.createDirectory(dir.resolve("d"));
        long d = lookup("d");
        assertEquals(Errno.EISDIR, errno(() -> fs.open(root, d, Linux.O_TMPFILE | Linux.O_WRONLY, new OpenOut())));
        try (Stream<Path> in = Files.list(dir.resolve("d"))) {
            assertEquals(0, in.count());
        }
        assertEquals(0, fs.openFiles());
        plainFileStillServed();
    }
}
