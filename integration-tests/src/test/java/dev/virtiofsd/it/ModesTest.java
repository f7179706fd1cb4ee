package dev.virtiofsd.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Passthrough options as the kernel sees them: readonly, cache=never/always, xattr off. */
class ModesTest {
    private static String errno(ThrowingCall call) {
        try {
            call.run();
            return "ok";
        } catch (ErrnoException e) {
            return Sys.errnoName(e);
        }
    }

    interface ThrowingCall {
        void run() throws ErrnoException;
    }

    @Test
    void readonlyRefusesEveryMutationWithErofsButReads() throws Exception {
        try (Twins t = Twins.mount(o -> o.readonly(true).xattr(true))) {
            Files.writeString(t.shared.resolve("f"), "content");
            Files.createDirectory(t.shared.resolve("dir"));
            Path m = t.mnt;
            assertEquals("content", Files.readString(m.resolve("f")), "reads work");
            assertEquals("[dir, f]", Sys.listNames(m), "readdir works");
            assertEquals(
                    "EROFS",
                    errno(() -> Sys.close(Sys.open(m.resolve("new"), Linux.O_CREAT | Linux.O_WRONLY, 0644))),
                    "create");
            assertEquals(
                    "EROFS", errno(() -> Sys.close(Sys.open(m.resolve("f"), Linux.O_WRONLY, 0))), "open for write");
            assertEquals("EROFS", errno(() -> Sys.close(Sys.open(m.resolve("f"), Linux.O_RDWR, 0))), "open read-write");
            assertEquals("EROFS", errno(() -> Sys.mkdir(m.resolve("d2"), 0755)), "mkdir");
            assertEquals("EROFS", errno(() -> Sys.mknod(m.resolve("fifo"), Linux.S_IFIFO | 0644, 0)), "mknod");
            assertEquals("EROFS", errno(() -> Sys.symlink("f", m.resolve("l"))), "symlink");
            assertEquals("EROFS", errno(() -> Sys.link(m.resolve("f"), m.resolve("l"))), "link");
            assertEquals("EROFS", errno(() -> Sys.unlink(m.resolve("f"))), "unlink");
            assertEquals("EROFS", errno(() -> Sys.rmdir(m.resolve("dir"))), "rmdir");
            assertEquals("EROFS", errno(() -> Sys.rename(m.resolve("f"), m.resolve("g"), 0)), "rename");
            assertEquals("EROFS", errno(() -> Sys.chmod(m.resolve("f"), 0600)), "chmod");
            assertEquals("EROFS", errno(() -> Sys.lchown(m.resolve("f"), 1, 1)), "chown");
            assertEquals("EROFS", errno(() -> Sys.utimens(m.resolve("f"), 1, 0, 1, 0, 0)), "utimens");
            assertEquals("EROFS", errno(() -> Sys.setxattr(m.resolve("f"), "user.x", new byte[] {1}, 0)), "setxattr");
            assertEquals("content", Files.readString(t.shared.resolve("f")), "host file untouched");
            assertEquals("[dir, f]", Sys.listNames(t.shared), "host dir untouched");
        }
    }

    @Test
    void cacheNeverSeesHostChangesImmediately() throws Exception {
        try (Twins t = Twins.mount(o -> o.cache("never"))) {
            Files.writeString(t.shared.resolve("f"), "one");
            assertEquals("one", Files.readString(t.mnt.resolve("f")));
            assertEquals(3, Sys.stat(t.mnt.resolve("f")).size());
            Files.writeString(t.shared.resolve("f"), "two, longer");
            assertEquals("two, longer", Files.readString(t.mnt.resolve("f")), "no stale page cache");
            assertEquals(11, Sys.stat(t.mnt.resolve("f")).size(), "no stale attributes");
            Files.delete(t.shared.resolve("f"));
            assertTrue(!Files.exists(t.mnt.resolve("f")), "no stale dentry");
            Files.writeString(t.mnt.resolve("g"), "through the mount");
            assertEquals("through the mount", Files.readString(t.shared.resolve("g")));
        }
    }

    @Test
    void cacheAlwaysServesReadsWritesAndListings() throws Exception {
        try (Twins t = Twins.mount(o -> o.cache("always"))) {
            byte[] data = new byte[300_000];
            new java.util.Random(3).nextBytes(data);
            Files.write(t.mnt.resolve("f"), data);
            assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(t.mnt.resolve("f"))));
            assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(t.shared.resolve("f"))));
            Files.createDirectory(t.mnt.resolve("d"));
            Files.writeString(t.mnt.resolve("d/x"), "x");
            assertEquals("[d, f]", Sys.listNames(t.mnt));
            assertEquals("[x]", Sys.listNames(t.mnt.resolve("d")));
            Files.move(t.mnt.resolve("d/x"), t.mnt.resolve("y"));
            assertEquals("x", Files.readString(t.shared.resolve("y")));
        }
    }

    @Test
    void xattrOffGivesEopnotsuppAsTheKernelReportsIt() throws Exception {
        try (Twins t = Twins.mount(o -> o.xattr(false))) {
            Files.writeString(t.shared.resolve("f"), "x");
            Path f = t.mnt.resolve("f");
            // The daemon answers ENOSYS (or EOPNOTSUPP); the kernel turns either into EOPNOTSUPP
            // for the caller and stops asking.
            assertEquals("EOPNOTSUPP", errno(() -> Sys.setxattr(f, "user.x", "1".getBytes(StandardCharsets.UTF_8), 0)));
            assertEquals("EOPNOTSUPP", errno(() -> Sys.getxattr(f, "user.x", 10)));
            assertEquals("EOPNOTSUPP", errno(() -> Sys.listxattr(f, "")));
            assertEquals("EOPNOTSUPP", errno(() -> Sys.removexattr(f, "user.x")));
            assertEquals(
                    "EOPNOTSUPP",
                    errno(() -> Sys.setxattr(f, "user.x", "1".getBytes(StandardCharsets.UTF_8), 0)),
                    "still refused on the second try");
        }
    }
}
