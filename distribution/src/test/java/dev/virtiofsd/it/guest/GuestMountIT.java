package dev.virtiofsd.it.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * End to end: QEMU (TCG) boots a Debian 6.1 cloud kernel with a busybox initramfs, mounts
 * the daemon's share with virtio-fs and runs guest/workload-mount.sh (every op class,
 * non-root access, xattr, 1,000-entry ls -l, 64 MiB checksum, a host submount announced to the
 * guest, sync, umount). Then the host
 * side is checked against what the guest did. Umount completing proves that hiprio
 * (FORGET) descriptors are returned; a hung step is named by the harness's idle timeout.
 * Runs our distribution's daemon; -Dguest.daemon=peer runs Rust virtiofsd instead.
 */
class GuestMountIT {
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("never", true, 1),
                Arguments.of("prefer", true, 1),
                Arguments.of("mandatory", true, 1),
                // no --xattr, and QEMU num-request-queues=2 (three vrings to set up)
                Arguments.of("never", false, 2));
    }

    static List<String> expectedChecks(boolean xattr) {
        List<String> names = new ArrayList<>(List.of(
                "mount",
                "root-chmod",
                "create",
                "write-read",
                "append",
                "truncate",
                "unlink",
                "mkdir-rmdir",
                "rename",
                "link",
                "symlink-readlink",
                "chmod",
                "chown",
                "nonroot",
                "nonroot-denied",
                "mkfifo"));
        names.add(xattr ? "xattr" : "xattr-disabled");
        names.addAll(List.of("times-fsync-fallocate", "statfs", "ls-1000", "big-64MiB", "submount", "sync", "umount"));
        return names;
    }

    @ParameterizedTest(name = "--inode-file-handles={0} xattr={1} request-queues={2}")
    @MethodSource("cases")
    void workloadPassesInGuest(String strategy, boolean xattr, int requestQueues) throws Exception {
        GuestSupport.assumeDaemonAvailable();
        assumeTrue(
                requestQueues == 1 || !GuestEnvironment.usePeer(),
                "Rust virtiofsd 1.13 serves a single request queue (QEMU fails vring 2 with EINVAL)");
        GuestRun run = GuestRun.prepare("mount-" + strategy + (xattr ? "-xattr" : "") + "-q" + requestQueues)
                .requestQueues(requestQueues);
        Path shared = run.sharedDir();
        // A host mount inside the share: the daemon announces it as a submount (its default).
        Path sub = shared.resolve("sub");
        Files.createDirectories(sub);
        host("mount", "-t", "tmpfs", "-o", "size=1m", "virtiofsd-it-submount", sub.toString());
        GuestResult r;
        long t0 = System.nanoTime();
        try {
            Files.writeString(sub.resolve("marker"), "submount\n");
            r = run.execute(GuestSupport.daemon(run, strategy, xattr), "mount", xattr, false);
            System.out.printf(
                    "guest run %s xattr=%s: %d ms (daemon start %d ms, guest %d ms)%n",
                    strategy, xattr, (System.nanoTime() - t0) / 1_000_000, r.daemonStartMillis, r.guestMillis);
            GuestSupport.assertCleanRun(r, expectedChecks(xattr), 1);
            assertEquals(
                    "guest\n", Files.readString(sub.resolve("from-guest")), "written by the guest into the submount");
        } finally {
            host("umount", sub.toString());
        }

        String report = r.describe();
        // 64 MiB: the data the guest generated, read back by the guest, and on the host are the same
        String hostSha = sha256(shared.resolve("big"));
        assertEquals(r.values.get("big.written.sha256"), hostSha, () -> "host copy differs\n" + report);
        assertEquals(r.values.get("big.read.sha256"), hostSha, () -> "guest read-back differs\n" + report);
        assertEquals(64L << 20, Files.size(shared.resolve("big")));

        assertEquals("hello\nworld\n", Files.readString(shared.resolve("f1")));
        assertEquals("b\n", Files.readString(shared.resolve("r2")));
        assertEquals(Path.of("r2"), Files.readSymbolicLink(shared.resolve("s2")));
        assertEquals(attr(shared.resolve("r2"), "unix:ino"), attr(shared.resolve("hardlink"), "unix:ino"));
        assertEquals(2, attr(shared.resolve("r2"), "unix:nlink"));
        assertEquals(0640, (int) attr(shared.resolve("r2"), "unix:mode") & 07777);
        // files created by guest uid 1000 belong to uid 1000 on the host
        assertEquals(1000, attr(shared.resolve("user/uf"), "unix:uid"));
        assertEquals(1000, attr(shared.resolve("user/uf"), "unix:gid"));
        assertEquals(1000, attr(shared.resolve("user/ud/x"), "unix:uid"));
        assertEquals(0010000, (int) attr(shared.resolve("fifo"), "unix:mode") & 0170000, "fifo type");
        try (Stream<Path> many = Files.list(shared.resolve("many"))) {
            assertEquals(1000, many.count());
        }
        assertTrue(Files.exists(shared.resolve("rd2/moved/x")));
        if (xattr) {
            UserDefinedFileAttributeView view =
                    Files.getFileAttributeView(shared.resolve("f1"), UserDefinedFileAttributeView.class);
            assertTrue(view.list().contains("keep"), "user.keep set by the guest");
            assertTrue(!view.list().contains("vtest"), "user.vtest removed by the guest");
            ByteBuffer b = ByteBuffer.allocate(16);
            view.read("keep", b);
            assertEquals("kept", new String(b.array(), 0, b.position(), StandardCharsets.UTF_8));
        }
        run.deleteSharedDir();
    }

    private static void host(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), () -> String.join(" ", command) + ": " + out);
    }

    private static Object attr(Path p, String name) throws Exception {
        return Files.getAttribute(p, name, LinkOption.NOFOLLOW_LINKS);
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (var in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
