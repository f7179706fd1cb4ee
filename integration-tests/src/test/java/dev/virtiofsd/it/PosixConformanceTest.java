package dev.virtiofsd.it;

import static dev.virtiofsd.linux.Linux.O_APPEND;
import static dev.virtiofsd.linux.Linux.O_CREAT;
import static dev.virtiofsd.linux.Linux.O_DIRECTORY;
import static dev.virtiofsd.linux.Linux.O_EXCL;
import static dev.virtiofsd.linux.Linux.O_RDONLY;
import static dev.virtiofsd.linux.Linux.O_RDWR;
import static dev.virtiofsd.linux.Linux.O_TRUNC;
import static dev.virtiofsd.linux.Linux.O_WRONLY;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.Statx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;

/**
 * POSIX conformance through the real kernel: every case runs the same system calls on a native
 * directory and through the FUSE mount (fd strategy, cache=auto, xattr on) and compares results,
 * errnos and stat fields. {@code expect(...)} additionally pins the native result, so a case cannot
 * pass by both sides failing the same unexpected way.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public class PosixConformanceTest {
    private Twins twins;

    @BeforeAll
    void mount() {
        twins = mountTwins();
    }

    /** The mount under test; subclasses run the same set with other strategies and options. */
    protected Twins mountTwins() {
        return Twins.mount(o -> o.xattr(true));
    }

    @AfterAll
    void unmount() {
        if (twins != null) {
            twins.close();
        }
    }

    private Twins.Case newCase(TestInfo info) {
        return twins.newCase(info.getTestMethod().orElseThrow().getName());
    }

    private static String shape(Path p) throws ErrnoException {
        return Sys.lstat(p).shape();
    }

    private static String touch(Path p, int mode) throws ErrnoException {
        Sys.close(Sys.open(p, O_CREAT | O_EXCL | O_WRONLY, mode));
        return "ok";
    }

    // ---- open / create / read / write / truncate -----------------------------------------

    @Test
    void createExclusiveThenEexist(TestInfo info) {
        Twins.Case c = newCase(info);
        c.expect("ok", "create O_EXCL", d -> touch(d.resolve("f"), 0640));
        c.expect("EEXIST", "create O_EXCL again", d -> touch(d.resolve("f"), 0640));
        c.expect("type=reg perm=0640 nlink=1 uid=0 gid=0 size=0", "stat new file", d -> shape(d.resolve("f")));
        c.expect("ok", "open O_CREAT without O_EXCL on existing", d -> {
            Sys.close(Sys.open(d.resolve("f"), O_CREAT | O_WRONLY, 0600));
            return null;
        });
        c.expect("type=reg perm=0640 nlink=1 uid=0 gid=0 size=0", "mode unchanged", d -> shape(d.resolve("f")));
    }

    @Test
    void openErrors(TestInfo info) {
        Twins.Case c = newCase(info);
        c.same("setup", d -> {
            touch(d.resolve("file"), 0644);
            Sys.mkdir(d.resolve("dir"), 0755);
            return null;
        });
        c.expect("ENOENT", "open missing", d -> Sys.open(d.resolve("missing"), O_RDONLY, 0));
        c.expect("EISDIR", "open dir for writing", d -> Sys.open(d.resolve("dir"), O_WRONLY, 0));
        c.expect("ENOTDIR", "O_DIRECTORY on a file", d -> Sys.open(d.resolve("file"), O_RDONLY | O_DIRECTORY, 0));
        c.expect("ENOTDIR", "file used as a directory", d -> Sys.open(d.resolve("file/x"), O_RDONLY, 0));
        c.expect("ENOENT", "create in a missing dir", d -> touch(d.resolve("nodir/x"), 0644));
        c.expect("ENAMETOOLONG", "name of 256 bytes", d -> touch(d.resolve("n".repeat(256)), 0644));
        c.expect("ok", "name of 255 bytes", d -> touch(d.resolve("n".repeat(255)), 0644));
    }

    @Test
    void writeReadAppendAndTruncOnOpen(TestInfo info) {
        Twins.Case c = newCase(info);
        c.expect("11", "pwrite", d -> {
            int fd = Sys.open(d.resolve("f"), O_CREAT | O_RDWR, 0644);
            try {
                return Sys.pwrite(fd, "hello world".getBytes(StandardCharsets.UTF_8), 0);
            } finally {
                Sys.close(fd);
            }
        });
        c.expect("hello WORLD", "overwrite in the middle", d -> {
            int fd = Sys.open(d.resolve("f"), O_RDWR, 0);
            try {
                Sys.pwrite(fd, "WORLD".getBytes(StandardCharsets.UTF_8), 6);
                return new String(Sys.pread(fd, 100, 0), StandardCharsets.UTF_8);
            } finally {
                Sys.close(fd);
            }
        });
        c.expect("hello WORLD!!", "O_APPEND writes at the end", d -> {
            int fd = Sys.open(d.resolve("f"), O_WRONLY | O_APPEND, 0);
            try {
                // Linux appends with O_APPEND even when pwrite names an offset
                Sys.pwrite(fd, "!!".getBytes(StandardCharsets.UTF_8), 0);
            } finally {
                Sys.close(fd);
            }
            return Sys.readString(d.resolve("f"));
        });
        c.expect("", "read past EOF", d -> {
            int fd = Sys.open(d.resolve("f"), O_RDONLY, 0);
            try {
                return new String(Sys.pread(fd, 10, 1000), StandardCharsets.UTF_8);
            } finally {
                Sys.close(fd);
            }
        });
        c.expect("type=reg perm=0644 nlink=1 uid=0 gid=0 size=0", "O_TRUNC empties", d -> {
            Sys.close(Sys.open(d.resolve("f"), O_WRONLY | O_TRUNC, 0));
            return shape(d.resolve("f"));
        });
        c.expect("EBADF", "write on a read-only fd", d -> {
            int fd = Sys.open(d.resolve("f"), O_RDONLY, 0);
            try {
                return Sys.pwrite(fd, new byte[] {1}, 0);
            } finally {
                Sys.close(fd);
            }
        });
    }

    @Test
    void largeWriteSpanningManyRequestsReadsBackIdentically(TestInfo info) throws Exception {
        Twins.Case c = newCase(info);
        byte[] data = new byte[3 * 1024 * 1024 + 12345];
        new Random(42).nextBytes(data);
        c.expect("ok", "write 3 MiB", d -> {
            Files.write(d.resolve("big"), data);
            return null;
        });
        assertArrayEquals(data, Files.readAllBytes(c.fuse.resolve("big")), "read through the mount");
        assertArrayEquals(data, Files.readAllBytes(c.shared.resolve("big")), "bytes on the host");
        c.same("stat", d -> shape(d.resolve("big")));
        assertEquals(data.length, Sys.stat(c.fuse.resolve("big")).size());
    }

    @Test
    void truncateGrowsWithZerosAndShrinks(TestInfo info) {
        Twins.Case c = newCase(info);
        c.same("setup", d -> {
            Sys.writeString(d.resolve("f"), "abcdef");
            return null;
        });
        c.expect("type=reg perm=0644 nlink=1 uid=0 gid=0 size=10000", "grow", d -> {
            Sys.truncate(d.resolve("f"), 10000);
            return shape(d.resolve("f"));
        });
        c.expect("abcdef|0|0", "zero fill", d -> {
            int fd = Sys.open(d.resolve("f"), O_RDONLY, 0);
            try {
                byte[] all = Sys.pread(fd, 20000, 0);
                return new String(all, 0, 6, StandardCharsets.US_ASCII) + "|" + all[6] + "|" + all[9999];
            } finally {
                Sys.close(fd);
            }
        });
        c.expect("abc", "shrink", d -> {
            Sys.truncate(d.resolve("f"), 3);
            return Sys.readString(d.resolve("f"));
        });
        c.expect("EISDIR", "truncate a directory", d -> {
            Sys.truncate(d, 0);
            return null;
        });
        c.expect("EINVAL", "negative length", d -> {
            Sys.truncate(d.resolve("f"), -1);
            return null;
        });
    }

    // ---- attributes -----------------------------------------------------------------------

    @Test
    void chmodAllBitsOnFilesAndDirectories(TestInfo info) {
        Twins.Case c = newCase(info);
        c.same("setup", d -> {
            touch(d.resolve("f"), 0644);
            Sys.mkdir(d.resolve("dir"), 0755);
            return null;
        });
        for (int mode : new int[] {0, 0400, 0777, 04755, 02755, 01777, 07777}) {
            String m = String.format("%04o", mode);
            c.expect("type=reg perm=" + m + " nlink=1 uid=0 gid=0 size=0", "chmod file " + m, d -> {
                Sys.chmod(d.resolve("f"), mode);
                return shape(d.resolve("f"));
            });
            c.expect("type=dir perm=" + m + " nlink=2 uid=0 gid=0 size=-1", "chmod dir " + m, d -> {
                Sys.chmod(d.resolve("dir"), mode);
                return shape(d.resolve("dir"));
            });
        }
        c.expect("ENOENT", "chmod missing", d -> {
            Sys.chmod(d.resolve("missing"), 0644);
            return null;
        });
    }

    @Test
    void chownAndLchown(TestInfo info) {
        Twins.Case c = newCase(info);
        c.same("setup", d -> {
            touch(d.resolve("f"), 0644);
            Sys.symlink("f", d.resolve("link"));
            return null;
        });
        c.expect("type=reg perm=0644 nlink=1 uid=1000 gid=1000 size=0", "chown file", d -> {
            Sys.lchown(d.resolve("f"), 1000, 1000);
            return shape(d.resolve("f"));
        });
        c.expect("type=reg perm=0644 nlink=1 uid=1000 gid=1234 size=0", "chown group only", d -> {
            Sys.lchown(d.resolve("f"), -1, 1234);
            return shape(d.resolve("f"));
        });
        c.expect("type=lnk perm=0777 nlink=1 uid=4321 gid=8765 size=1|uid=1000", "lchown symlink only", d -> {
            Sys.lchown(d.resolve("link"), 4321, 8765);
            return shape(d.resolve("link")) + "|uid="
                    + Sys.lstat(d.resolve("f")).uid();
        });
        // root chown of an executable setuid/setgid file clears both bits (the kernel's
        // should_remove_suid + the filesystem's setattr): the twins must agree.
        c.same("chown clears setuid/setgid", d -> {
            Sys.chmod(d.resolve("f"), 06755);
            Sys.lchown(d.resolve("f"), 2000, 2000);
            return shape(d.resolve("f"));
        });
    }

    @Test
    void utimensatWithNanosecondsOmitAndNow(TestInfo info) {
        Twins.Case c = newCase(info);
        c.same("setup", d -> {
            touch(d.resolve("f"), 0644);
            Sys.symlink("f", d.resolve("link"));
            return null;
        });
        c.expect("1000000000.123456789 1500000000.987654321", "explicit times", d -> {
            Sys.utimens(d.resolve("f"), 1000000000L, 123456789, 1500000000L, 987654321, 0);
            Sys.Stat s = Sys.stat(d.resolve("f"));
            return s.atimeSec() + "." + s.atimeNsec() + " " + s.mtimeSec() + "." + s.mtimeNsec();
        });
        c.expect("1000000000.123456789 1600000000.5", "UTIME_OMIT keeps atime", d -> {
            Sys.utimens(d.resolve("f"), 0, Sys.UTIME_OMIT, 1600000000L, 5, 0);
            Sys.Stat s = Sys.stat(d.resolve("f"));
            return s.atimeSec() + "." + s.atimeNsec() + " " + s.mtimeSec() + "." + s.mtimeNsec();
        });
        c.expect("777.7 1600000000.5", "AT_SYMLINK_NOFOLLOW changes the link, not the target", d -> {
            Sys.utimens(d.resolve("link"), 777, 7, 777, 7, Linux.AT_SYMLINK_NOFOLLOW);
            return Sys.lstat(d.resolve("link")).mtimeSec() + "."
                    + Sys.lstat(d.resolve("link")).mtimeNsec() + " "
                    + Sys.stat(d.resolve("f")).mtimeSec() + "."
                    + Sys.stat(d.resolve("f")).mtimeNsec();
        });
        c.expect("true", "UTIME_NOW sets the current time", d -> {
            long before = System.currentTimeMillis() / 1000 - 2;
            Sys.utimens(d.resolve("f"), 0, Sys.UTIME_NOW, 0, Sys.UTIME_NOW, 0);
            Sys.Stat s = Sys.stat(d.resolve("f"));
            return s.atimeSec() >= before && s.mtimeSec() >= before && s.mtimeSec() <= before + 10;
        });
        c.expect("EINVAL", "nanoseconds out of range", d -> {
            Sys.utimens(d.resolve("f"), 1, 1_000_000_000L, 1, 0, 0);
            return null;
        });
    }

    // ---- namespace ------------------------------------------------------------------------

    @Test
    void hardLinksCountAndShareContent(TestInfo info) {
        Twins.Case c = newCase(info);
        c.same("setup", d -> {
            Sys.writeString(d.resolve("a"), "shared");
            Sys.mkdir(d.resolve("dir"), 0755);
            return null;
        });
        c.expect("2 2 true", "link a -> b", d -> {
            Sys.link(d.resolve("a"), d.resolve("b"));
            Sys.Stat a = Sys.stat(d.resolve("a"));
            Sys.Stat b = Sys.stat(d.resolve("b"));
            return a.nlink() + " " + b.nlink() + " " + (a.ino() == b.ino());
        });
        c.expect("3", "link into a subdirectory", d -> {
            Sys.link(d.resolve("b"), d.resolve("dir/c"));
            return Sys.stat(d.resolve("a")).nlink();
        });
        c.expect("shared 2", "unlink a, content stays", d -> {
            Sys.unlink(d.resolve("a"));
            return Sys.readString(d.resolve("b")) + " "
                    + Sys.stat(d.resolve("b")).nlink();
        });
        c.expect("EEXIST", "link over an existing name", d -> {
            Sys.link(d.resolve("b"), d.resolve("dir/c"));
            return null;
        });
        c.expect("EPERM", "link a directory", d -> {
            Sys.link(d.resolve("dir"), d.resolve("dir2"));
            return null;
        });
        c.expect("ENOENT", "link a missing file", d -> {
            Sys.link(d.resolve("missing"), d.resolve("x"));
            return null;
        });
    }

    @Test
    void unlinkRmdirMkdirErrors(TestInfo info) {
        Twins.Case c = newCase(info);
        c.same("setup", d -> {
            Sys.mkdir(d.resolve("dir"), 0755);
            Sys.mkdir(d.resolve("full"), 0755);
            touch(d.resolve("full/x"), 0644);
            touch(d.resolve("f"), 0644);
            return null;
        });
        c.expect("EISDIR", "unlink a directory", d -> {
            Sys.unlink(d.resolve("dir"));
            return null;
        });
        c.expect("ENOENT", "unlink missing", d -> {
            Sys.unlink(d.resolve("missing"));
            return null;
        });
        c.expect("ENOTDIR", "rmdir a file", d -> {
            Sys.rmdir(d.resolve("f"));
            return null;
        });
        c.expect("ENOTEMPTY", "rmdir non-empty", d -> {
            Sys.rmdir(d.resolve("full"));
            return null;
        });
        c.expect("EEXIST", "mkdir existing", d -> {
            Sys.mkdir(d.resolve("f"), 0755);
            return null;
        });
        c.expect("EINVAL", "rmdir of '.'", d -> {
            Sys.rmdir(d.resolve("dir/."));
            return null;
        });
        c.expect("ENOENT", "unlink then stat", d -> {
            Sys.unlink(d.resolve("f"));
            return Sys.lstat(d.resolve("f"));
        });
    }

    @Test
    void mkdirModeAndParentLinkCount(TestInfo info) {
        Twins.Case c = newCase(info);
        c.expect("type=dir perm=0750 nlink=2 uid=0 gid=0 size=-1 parent=3", "mkdir", d -> {
            Sys.mkdir(d.resolve("sub"), 0750);
            return shape(d.resolve("sub")) + " parent=" + Sys.stat(d).nlink();
        });
        c.expect("type=dir perm=0701 nlink=2 uid=0 gid=0 size=-1", "mkdir with an odd mode", d -> {
            Sys.mkdir(d.resolve("sub2"), 0701);
            return shape(d.resolve("sub2"));
        });
        c.expect("parent=3", "rmdir", d -> {
            Sys.rmdir(d.resolve("sub"));
            return "parent=" + Sys.stat(d).nlink();
        });
    }

    @Test
    void renameReplacesAndRejects(TestInfo info) {
        Twins.Case c = newCase(info);
        c.same("setup", d -> {
            Sys.writeString(d.resolve("a"), "A");
            Sys.writeString(d.resolve("b"), "B");
            Sys.mkdir(d.resolve("dir"), 0755);
            Sys.mkdir(d.resolve("dir/sub"), 0755);
            Sys.mkdir(d.resolve("full"), 0755);
            touch(d.resolve("full/x"), 0644);
            Sys.mkdir(d.resolve("empty"), 0755);
            return null;
        });
        c.expect("A ENOENT", "rename over an existing file", d -> {
            Sys.rename(d.resolve("a"), d.resolve("b"), 0);
            String s = Sys.readString(d.resolve("b"));
            try {
                Sys.lstat(d.resolve("a"));
                return s + " still there";
            } catch (ErrnoException e) {
                return s + " " + Sys.errnoName(e);
            }
        });
        c.expect("A", "rename across directories", d -> {
            Sys.rename(d.resolve("b"), d.resolve("dir/sub/moved"), 0);
            return Sys.readString(d.resolve("dir/sub/moved"));
        });
        c.expect("EINVAL", "rename a directory into itself", d -> {
            Sys.rename(d.resolve("dir"), d.resolve("dir/sub/inner"), 0);
            return null;
        });
        c.expect("ENOTEMPTY", "rename a directory over a non-empty one", d -> {
            Sys.rename(d.resolve("empty"), d.resolve("full"), 0);
            return null;
        });
        c.expect("EISDIR", "rename a file over a directory", d -> {
            Sys.rename(d.resolve("dir/sub/moved"), d.resolve("empty"), 0);
            return null;
        });
        c.expect("ENOTDIR", "rename a directory over a file", d -> {
            Sys.rename(d.resolve("empty"), d.resolve("dir/sub/moved"), 0);
            return null;
        });
        c.expect("ok", "rename a directory over an empty one", d -> {
            Sys.mkdir(d.resolve("empty2"), 0700);
            Sys.rename(d.resolve("empty2"), d.resolve("empty"), 0);
            return null;
        });
        c.expect(
                "type=dir perm=0700 nlink=2 uid=0 gid=0 size=-1",
                "the replacement is there",
                d -> shape(d.resolve("empty")));
        c.expect("ENOENT", "rename missing", d -> {
            Sys.rename(d.resolve("missing"), d.resolve("x"), 0);
            return null;
        });
    }

    @Test
    void rename2NoreplaceExchangeWhiteout(TestInfo info) {
        Twins.Case c = newCase(info);
        c.same("setup", d -> {
            Sys.writeString(d.resolve("a"), "A");
            Sys.writeString(d.resolve("b"), "B");
            Sys.mkdir(d.resolve("dir"), 0700);
            return null;
        });
        c.expect("EEXIST", "NOREPLACE onto an existing name", d -> {
            Sys.rename(d.resolve("a"), d.resolve("b"), Linux.RENAME_NOREPLACE);
            return null;
        });
        c.expect("A", "NOREPLACE onto a new name", d -> {
            Sys.rename(d.resolve("a"), d.resolve("a2"), Linux.RENAME_NOREPLACE);
            return Sys.readString(d.resolve("a2"));
        });
        c.expect("B A", "EXCHANGE two files", d -> {
            Sys.rename(d.resolve("a2"), d.resolve("b"), Linux.RENAME_EXCHANGE);
            return Sys.readString(d.resolve("a2")) + " " + Sys.readString(d.resolve("b"));
        });
        c.expect("dir reg", "EXCHANGE a file and a directory", d -> {
            Sys.rename(d.resolve("b"), d.resolve("dir"), Linux.RENAME_EXCHANGE);
            return Sys.lstat(d.resolve("b")).typeName() + " "
                    + Sys.lstat(d.resolve("dir")).typeName();
        });
        c.expect("ENOENT", "EXCHANGE with a missing name", d -> {
            Sys.rename(d.resolve("a2"), d.resolve("missing"), Linux.RENAME_EXCHANGE);
            return null;
        });
        c.expect("EINVAL", "NOREPLACE|EXCHANGE together", d -> {
            Sys.rename(d.resolve("a2"), d.resolve("dir"), Linux.RENAME_EXCHANGE | Linux.RENAME_NOREPLACE);
            return null;
        });
        c.expect("chr rdev=0 B", "WHITEOUT leaves a 0:0 char device behind", d -> {
            Sys.rename(d.resolve("a2"), d.resolve("w"), Linux.RENAME_WHITEOUT);
            Sys.Stat s = Sys.lstat(d.resolve("a2"));
            return s.typeName() + " rdev=" + s.rdev() + " " + Sys.readString(d.resolve("w"));
        });
    }

    @Test
    void mkfifoAndMknodOfEveryType(TestInfo info) {
        Twins.Case c = newCase(info);
        c.expect("type=fifo perm=0640 nlink=1 uid=0 gid=0 size=0", "mkfifo", d -> {
            Sys.mknod(d.resolve("fifo"), Linux.S_IFIFO | 0640, 0);
            return shape(d.resolve("fifo"));
        });
        c.expect("type=chr perm=0600 nlink=1 uid=0 gid=0 size=0 rdev=1:3", "mknod char device", d -> {
            Sys.mknod(d.resolve("null"), Linux.S_IFCHR | 0600, Statx.makedev(1, 3));
            Sys.Stat s = Sys.lstat(d.resolve("null"));
            return s.shape() + " rdev=" + Statx.major(s.rdev()) + ":" + Statx.minor(s.rdev());
        });
        c.expect(
                "type=blk perm=0600 nlink=1 uid=0 gid=0 size=0 rdev=259:65537", "mknod block device (big minor)", d -> {
                    Sys.mknod(d.resolve("blk"), Linux.S_IFBLK | 0600, Statx.makedev(259, 65537));
                    Sys.Stat s = Sys.lstat(d.resolve("blk"));
                    return s.shape() + " rdev=" + Statx.major(s.rdev()) + ":" + Statx.minor(s.rdev());
                });
        c.expect("type=reg perm=0644 nlink=1 uid=0 gid=0 size=0", "mknod regular file", d -> {
            Sys.mknod(d.resolve("reg"), Linux.S_IFREG | 0644, 0);
            return shape(d.resolve("reg"));
        });
        c.expect("type=sock perm=0755 nlink=1 uid=0 gid=0 size=0", "mknod socket", d -> {
            Sys.mknod(d.resolve("sock"), Linux.S_IFSOCK | 0755, 0);
            return shape(d.resolve("sock"));
        });
        c.expect("EEXIST", "mknod existing", d -> {
            Sys.mknod(d.resolve("fifo"), Linux.S_IFIFO | 0640, 0);
            return null;
        });
        c.expect("ok", "fifo works (kernel-side pipe)", d -> {
            int r = Sys.open(d.resolve("fifo"), O_RDONLY | Linux.O_NONBLOCK, 0);
            int w = Sys.open(d.resolve("fifo"), O_WRONLY | Linux.O_NONBLOCK, 0);
            Sys.close(w);
            Sys.close(r);
            return null;
        });
    }

    @Test
    void symlinksReadlinkAndDangling(TestInfo info) {
        Twins.Case c = newCase(info);
        c.same("setup", d -> {
            Sys.writeString(d.resolve("target"), "T");
            return null;
        });
        c.expect("type=lnk perm=0777 nlink=1 uid=0 gid=0 size=6 target T", "relative symlink", d -> {
            Sys.symlink("target", d.resolve("rel"));
            return shape(d.resolve("rel")) + " " + Sys.readlink(d.resolve("rel")) + " "
                    + Sys.readString(d.resolve("rel"));
        });
        String odd = "../x/./y//z with spaces";
        c.expect(odd, "link text is kept verbatim", d -> {
            Sys.symlink(odd, d.resolve("odd"));
            return Sys.readlink(d.resolve("odd"));
        });
        c.expect("ENOENT", "dangling symlink stat", d -> Sys.stat(d.resolve("odd")));
        c.expect("EEXIST", "symlink over an existing name", d -> {
            Sys.symlink("x", d.resolve("rel"));
            return null;
        });
        c.expect("EINVAL", "readlink of a regular file", d -> Sys.readlink(d.resolve("target")));
        c.expect("ELOOP", "symlink loop", d -> {
            Sys.symlink("loop", d.resolve("loop"));
            return Sys.stat(d.resolve("loop"));
        });
        String longTarget = "t".repeat(4000);
        c.expect("4000", "long target", d -> {
            Sys.symlink(longTarget, d.resolve("long"));
            return Sys.readlink(d.resolve("long")).length();
        });
    }

    @Test
    void readdirListsManyEntriesOfEveryType(TestInfo info) {
        Twins.Case c = newCase(info);
        String listing = c.same("create 600 entries and list them", d -> {
            for (int i = 0; i < 200; i++) {
                touch(d.resolve("file-" + i + "-" + "x".repeat(i % 50)), 0644);
                Sys.mkdir(d.resolve("dir-" + i), 0755);
                Sys.symlink("file-" + i, d.resolve("link-" + i));
            }
            try (Stream<Path> s = Files.list(d)) {
                return s.map(p -> p.getFileName() + ":" + typeOf(p)).sorted().collect(Collectors.joining(","));
            }
        });
        assertEquals(600, listing.split(",").length, "600 entries listed");
    }

    private static String typeOf(Path p) {
        try {
            return Sys.lstat(p).typeName();
        } catch (ErrnoException e) {
            return Sys.errnoName(e);
        }
    }

    // ---- xattrs ---------------------------------------------------------------------------

    @Test
    void xattrsSetGetListRemove(TestInfo info) {
        Twins.Case c = newCase(info);
        c.same("setup", d -> {
            touch(d.resolve("f"), 0644);
            Sys.mkdir(d.resolve("dir"), 0755);
            return null;
        });
        for (String name : new String[] {"f", "dir"}) {
            c.expect("value-1", "set and get on " + name, d -> {
                Sys.setxattr(d.resolve(name), "user.one", "value-1".getBytes(StandardCharsets.UTF_8), 0);
                return Sys.getxattr(d.resolve(name), "user.one", 100);
            });
            c.expect("EEXIST", "XATTR_CREATE on existing", d -> {
                Sys.setxattr(d.resolve(name), "user.one", new byte[] {1}, Linux.XATTR_CREATE);
                return null;
            });
            c.expect("ENODATA", "XATTR_REPLACE on missing", d -> {
                Sys.setxattr(d.resolve(name), "user.two", new byte[] {1}, Linux.XATTR_REPLACE);
                return null;
            });
            c.expect("size=7", "size query", d -> Sys.getxattr(d.resolve(name), "user.one", 0));
            c.expect("ERANGE", "buffer too small", d -> Sys.getxattr(d.resolve(name), "user.one", 3));
            c.expect("[user.empty, user.one]", "list", d -> {
                Sys.setxattr(d.resolve(name), "user.empty", new byte[0], 0);
                return Sys.listxattr(d.resolve(name), "user.");
            });
            c.expect("", "empty value", d -> Sys.getxattr(d.resolve(name), "user.empty", 10));
            c.expect("[user.empty]", "remove", d -> {
                Sys.removexattr(d.resolve(name), "user.one");
                return Sys.listxattr(d.resolve(name), "user.");
            });
            c.expect("ENODATA", "get removed", d -> Sys.getxattr(d.resolve(name), "user.one", 100));
            c.expect("ENODATA", "remove missing", d -> {
                Sys.removexattr(d.resolve(name), "user.one");
                return null;
            });
        }
        c.expect("EOPNOTSUPP", "unknown namespace", d -> {
            Sys.setxattr(d.resolve("f"), "bogus.name", new byte[] {1}, 0);
            return null;
        });
        c.expect("value on host", "xattr written through the mount is on the host file", d -> {
            Sys.setxattr(d.resolve("f"), "user.host", "value on host".getBytes(StandardCharsets.UTF_8), 0);
            Path hostFile = d.equals(c.fuse) ? c.shared.resolve("f") : d.resolve("f");
            return Sys.getxattr(hostFile, "user.host", 100);
        });
    }

    // ---- locks ----------------------------------------------------------------------------

    @Test
    void ofdLocksConflictBetweenTwoFds(TestInfo info) {
        Twins.Case c = newCase(info);
        c.same("setup", d -> {
            Sys.writeString(d.resolve("f"), "0123456789");
            return null;
        });
        c.expect("ok|EAGAIN|WRLCK 0 10 pid=-1|ok|ok,ok|EAGAIN", "two open file descriptions", d -> {
            int fd1 = Sys.open(d.resolve("f"), O_RDWR, 0);
            int fd2 = Sys.open(d.resolve("f"), O_RDWR, 0);
            int fd3 = Sys.open(d.resolve("f"), O_RDWR, 0);
            try {
                StringBuilder sb = new StringBuilder();
                sb.append(setlk(fd1, Sys.F_WRLCK, 0, 10));
                sb.append('|').append(setlk(fd2, Sys.F_WRLCK, 5, 1));
                sb.append('|').append(Sys.ofdLock(fd2, Linux.F_OFD_GETLK, Sys.F_RDLCK, 0, 0));
                setlk(fd1, Sys.F_UNLCK, 0, 0);
                sb.append('|').append(setlk(fd2, Sys.F_WRLCK, 20, 5));
                // shared read locks coexist; a write lock then conflicts with them
                sb.append('|').append(setlk(fd1, Sys.F_RDLCK, 0, 10));
                sb.append(',').append(setlk(fd2, Sys.F_RDLCK, 0, 10));
                sb.append('|').append(setlk(fd3, Sys.F_WRLCK, 0, 1));
                return sb.toString();
            } finally {
                Sys.close(fd1);
                Sys.close(fd2);
                Sys.close(fd3);
            }
        });
    }

    @Test
    void ofdLocksAreReleasedWhenTheirFileIsClosed(TestInfo info) {
        Twins.Case c = newCase(info);
        c.same("setup", d -> {
            touch(d.resolve("f"), 0644);
            return null;
        });
        c.expect("ok|EAGAIN|ok", "lock, conflict, close the holder, lock again", d -> {
            int fd1 = Sys.open(d.resolve("f"), O_RDWR, 0);
            int fd2 = Sys.open(d.resolve("f"), O_RDWR, 0);
            try {
                String held = setlk(fd1, Sys.F_WRLCK, 0, 0);
                String conflict = setlk(fd2, Sys.F_WRLCK, 0, 1);
                Sys.close(fd1);
                fd1 = -1;
                // FUSE sends RELEASE asynchronously after close(): allow it a moment to arrive.
                String after = setlk(fd2, Sys.F_WRLCK, 0, 1);
                for (int i = 0; i < 40 && !after.equals("ok"); i++) {
                    Thread.sleep(50);
                    after = setlk(fd2, Sys.F_WRLCK, 0, 1);
                }
                return held + "|" + conflict + "|" + after;
            } finally {
                Sys.close(fd1);
                Sys.close(fd2);
            }
        });
    }

    @Test
    void ofdSetlkwWaitsUntilTheHolderUnlocks(TestInfo info) {
        Twins.Case c = newCase(info);
        c.same("setup", d -> {
            touch(d.resolve("f"), 0644);
            return null;
        });
        c.expect("waiting|acquired", "blocking lock", d -> {
            int fd1 = Sys.open(d.resolve("f"), O_RDWR, 0);
            int fd2 = Sys.open(d.resolve("f"), O_RDWR, 0);
            try {
                setlk(fd1, Sys.F_WRLCK, 0, 0);
                java.util.concurrent.CompletableFuture<String> waiter =
                        java.util.concurrent.CompletableFuture.supplyAsync(
                                () -> outcome(() -> Sys.ofdLock(fd2, Linux.F_OFD_SETLKW, Sys.F_WRLCK, 0, 0)));
                Thread.sleep(300);
                String first = waiter.isDone() ? "not blocked: " + waiter.get() : "waiting";
                setlk(fd1, Sys.F_UNLCK, 0, 0);
                String second = waiter.get(5, java.util.concurrent.TimeUnit.SECONDS);
                return first + "|" + (second.startsWith("WRLCK") || second.equals("ok") ? "acquired" : second);
            } finally {
                Sys.close(fd1);
                Sys.close(fd2);
            }
        });
    }

    private static String setlk(int fd, short type, long start, long len) {
        return outcome(() -> {
            Sys.ofdLock(fd, Linux.F_OFD_SETLK, type, start, len);
            return "ok";
        });
    }

    @Test
    void flockConflictBetweenTwoFds(TestInfo info) {
        Twins.Case c = newCase(info);
        c.same("setup", d -> {
            touch(d.resolve("f"), 0644);
            return null;
        });
        c.expect("ok|EAGAIN|EAGAIN|ok|ok,ok", "flock", d -> {
            int fd1 = Sys.open(d.resolve("f"), O_RDONLY, 0);
            int fd2 = Sys.open(d.resolve("f"), O_RDONLY, 0);
            try {
                StringBuilder sb = new StringBuilder();
                sb.append(outcome(() -> flock(fd1, Linux.LOCK_EX)));
                sb.append('|').append(outcome(() -> flock(fd2, Linux.LOCK_SH | Linux.LOCK_NB)));
                sb.append('|').append(outcome(() -> flock(fd2, Linux.LOCK_EX | Linux.LOCK_NB)));
                sb.append('|').append(outcome(() -> {
                    flock(fd1, Linux.LOCK_UN);
                    return flock(fd2, Linux.LOCK_SH | Linux.LOCK_NB);
                }));
                sb.append('|').append(outcome(() -> flock(fd1, Linux.LOCK_SH | Linux.LOCK_NB)));
                sb.append(',').append(outcome(() -> flock(fd2, Linux.LOCK_UN)));
                return sb.toString();
            } finally {
                Sys.close(fd1);
                Sys.close(fd2);
            }
        });
    }

    private static String flock(int fd, int op) throws ErrnoException {
        Linux.flock(fd, op);
        return "ok";
    }

    interface Call {
        Object call() throws ErrnoException;
    }

    private static String outcome(Call call) {
        try {
            return String.valueOf(call.call());
        } catch (ErrnoException e) {
            return Sys.errnoName(e);
        }
    }

    // ---- space: fallocate, SEEK_DATA/SEEK_HOLE, copy_file_range ------------------------------

    @Test
    void fallocateAllocatesKeepsSizeAndPunchesHoles(TestInfo info) {
        Twins.Case c = newCase(info);
        c.expect("size=1048576 blocks>=2048", "fallocate 1 MiB", d -> {
            int fd = Sys.open(d.resolve("f"), O_CREAT | O_RDWR, 0644);
            try {
                Linux.fallocate(fd, 0, 0, 1 << 20);
                Sys.Stat s = Sys.fstat(fd);
                return "size=" + s.size() + " blocks" + (s.blocks() >= 2048 ? ">=2048" : "=" + s.blocks());
            } finally {
                Sys.close(fd);
            }
        });
        c.same("KEEP_SIZE past EOF: size and blocks", d -> {
            int fd = Sys.open(d.resolve("f"), O_RDWR, 0);
            try {
                Linux.fallocate(fd, Sys.FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20);
                Sys.Stat s = Sys.fstat(fd);
                return "size=" + s.size() + " blocks=" + s.blocks();
            } finally {
                Sys.close(fd);
            }
        });
        c.expect("0 0 x", "punch a hole", d -> {
            int fd = Sys.open(d.resolve("f"), O_RDWR, 0);
            try {
                Sys.pwrite(fd, "xxxxxxxxxx".getBytes(StandardCharsets.US_ASCII), 8190);
                Linux.fallocate(fd, Sys.FALLOC_FL_PUNCH_HOLE | Sys.FALLOC_FL_KEEP_SIZE, 0, 8192);
                byte[] b = Sys.pread(fd, 8200, 0);
                return b[0] + " " + b[8191] + " " + (char) b[8192];
            } finally {
                Sys.close(fd);
            }
        });
        c.same("blocks after the punch", d -> Sys.stat(d.resolve("f")).blocks());
        c.expect("EBADF", "fallocate on a read-only fd", d -> {
            int fd = Sys.open(d.resolve("f"), O_RDONLY, 0);
            try {
                Linux.fallocate(fd, 0, 0, 10);
                return null;
            } finally {
                Sys.close(fd);
            }
        });
    }

    @Test
    void lseekDataAndHoles(TestInfo info) {
        Twins.Case c = newCase(info);
        c.expect("0 4096 1048576 1052672 ENXIO 1052672 EINVAL", "sparse file", d -> {
            int fd = Sys.open(d.resolve("sparse"), O_CREAT | O_RDWR, 0644);
            try {
                Sys.pwrite(fd, new byte[4096], 0);
                byte[] one = new byte[4096];
                one[0] = 1;
                Sys.pwrite(fd, one, 1 << 20);
                return Linux.lseek(fd, 0, Linux.SEEK_DATA) + " " + Linux.lseek(fd, 0, Linux.SEEK_HOLE) + " "
                        + Linux.lseek(fd, 4096, Linux.SEEK_DATA) + " " + Linux.lseek(fd, 1 << 20, Linux.SEEK_HOLE)
                        + " " + outcome(() -> Linux.lseek(fd, (1 << 20) + 4096, Linux.SEEK_DATA))
                        + " " + Linux.lseek(fd, 0, Linux.SEEK_END)
                        + " " + outcome(() -> Linux.lseek(fd, -1, Linux.SEEK_SET));
            } finally {
                Sys.close(fd);
            }
        });
    }

    @Test
    void copyFileRangeCopiesBytesBetweenFiles(TestInfo info) throws Exception {
        Twins.Case c = newCase(info);
        byte[] data = new byte[100_000];
        new Random(7).nextBytes(data);
        c.expect("50000 size=50010", "copy 50000 bytes from offset 1000 to offset 10", d -> {
            Files.write(d.resolve("src"), data);
            int in = Sys.open(d.resolve("src"), O_RDONLY, 0);
            int out = Sys.open(d.resolve("dst"), O_CREAT | O_WRONLY, 0644);
            try {
                long n = Linux.copyFileRange(in, 1000, out, 10, 50_000, 0);
                return n + " size=" + Sys.fstat(out).size();
            } finally {
                Sys.close(in);
                Sys.close(out);
            }
        });
        byte[] copied = Files.readAllBytes(c.fuse.resolve("dst"));
        byte[] expected = new byte[50_010];
        System.arraycopy(data, 1000, expected, 10, 50_000);
        assertArrayEquals(expected, copied, "copied bytes through the mount");
        assertArrayEquals(expected, Files.readAllBytes(c.shared.resolve("dst")), "copied bytes on the host");
        c.expect("0", "copy past EOF copies nothing", d -> {
            int in = Sys.open(d.resolve("src"), O_RDONLY, 0);
            int out = Sys.open(d.resolve("dst"), O_WRONLY, 0);
            try {
                return Linux.copyFileRange(in, 200_000, out, 0, 10, 0);
            } finally {
                Sys.close(in);
                Sys.close(out);
            }
        });
        c.expect("EBADF", "copy into a read-only fd", d -> {
            int in = Sys.open(d.resolve("src"), O_RDONLY, 0);
            int out = Sys.open(d.resolve("dst"), O_RDONLY, 0);
            try {
                return Linux.copyFileRange(in, 0, out, 0, 10, 0);
            } finally {
                Sys.close(in);
                Sys.close(out);
            }
        });
    }

    // ---- O_TMPFILE, sync, statfs ------------------------------------------------------------

    @Test
    void tmpfileIsNamelessUntilLinked(TestInfo info) {
        Twins.Case c = newCase(info);
        c.expect("[] | type=reg perm=0600 nlink=1 uid=0 gid=0 size=4 | data", "O_TMPFILE then linkat", d -> {
            int fd = Sys.open(d, Linux.O_TMPFILE | O_RDWR, 0600);
            try {
                Sys.pwrite(fd, "data".getBytes(StandardCharsets.US_ASCII), 0);
                String before;
                try (Stream<Path> s = Files.list(d)) {
                    before = s.map(p -> p.getFileName().toString())
                            .collect(Collectors.toList())
                            .toString();
                }
                Sys.linkFd(fd, d.resolve("named"));
                return before + " | " + shape(d.resolve("named")) + " | " + Sys.readString(d.resolve("named"));
            } finally {
                Sys.close(fd);
            }
        });
    }

    @Test
    void fsyncFdatasyncFsyncdirAndSyncfs(TestInfo info) {
        Twins.Case c = newCase(info);
        c.expect("ok", "sync calls", d -> {
            int fd = Sys.open(d.resolve("f"), O_CREAT | O_RDWR, 0644);
            int dir = Sys.open(d, O_RDONLY | O_DIRECTORY, 0);
            try {
                Sys.pwrite(fd, new byte[] {1, 2, 3}, 0);
                Linux.fsync(fd);
                Linux.fdatasync(fd);
                Linux.fsync(dir);
                Linux.syncfs(fd);
                return null;
            } finally {
                Sys.close(fd);
                Sys.close(dir);
            }
        });
    }

    @Test
    void statfsMatchesTheHostFilesystem(TestInfo info) throws Exception {
        Twins.Case c = newCase(info);
        java.nio.file.FileStore host = Files.getFileStore(c.shared);
        java.nio.file.FileStore fuse = Files.getFileStore(c.fuse);
        assertEquals(host.getTotalSpace(), fuse.getTotalSpace(), "total space");
        assertEquals(host.getBlockSize(), fuse.getBlockSize(), "block size");
        long diff = Math.abs(host.getUsableSpace() - fuse.getUsableSpace());
        assertTrue(diff < 512L << 20, "usable space within 512 MiB: " + diff);
    }

    @Test
    void changesMadeOnTheHostAreVisibleThroughTheMount(TestInfo info) throws Exception {
        Twins.Case c = newCase(info);
        Files.writeString(c.shared.resolve("from-host"), "host data");
        assertEquals("host data", Files.readString(c.fuse.resolve("from-host")));
        Files.writeString(c.fuse.resolve("from-mount"), "mount data");
        assertEquals("mount data", Files.readString(c.shared.resolve("from-mount")));
        assertEquals(
                Sys.lstat(c.shared.resolve("from-mount")).ino(),
                Sys.lstat(c.fuse.resolve("from-mount")).ino(),
                "inode numbers pass through");
    }
}
