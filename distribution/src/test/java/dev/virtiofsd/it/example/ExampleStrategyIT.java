package dev.virtiofsd.it.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.virtiofsd.it.live.Ctl;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The third-party example (examples/hybrid-strategy): built from its own pom against the SDK of the
 * distribution, its conformance-kit run checked, dropped into --bundles DIR and picked with
 * --strategy hybrid, then put through the inode-number reuse scenario (an unlinked file's number given to the next new file) on a loop-mounted ext4 through
 * the real kernel (a /dev/fuse mount of the daemon). The guest run is in LiveSwitchGuestIT.
 */
class ExampleStrategyIT {
    private static final String A = "A: the old file, unlinked on the host\n";
    private static final String B = "B: the new file that took A's inode number\n";

    @TempDir
    Path tmp;

    @Test
    void builtFromItsOwnPomAgainstTheSdkAndPassesTheConformanceKit() throws Exception {
        Path jar = ExampleBuild.jar();
        try (JarFile j = new JarFile(jar.toFile())) {
            var main = j.getManifest().getMainAttributes();
            assertEquals("org.example.virtiofsd.hybrid", main.getValue("Bundle-SymbolicName"));
            String imports = main.getValue("Import-Package");
            assertTrue(imports.contains("dev.virtiofsd.api.identity;version=\"[1.0,2)\""), imports);
            assertTrue(j.getEntry("OSGI-INF/org.example.hybrid.internal.HybridStrategy.xml") != null, "DS descriptor");
        }
        Path report = ExampleBuild.project()
                .resolve("target/surefire-reports/TEST-org.example.hybrid.internal.HybridConformanceTest.xml");
        String xml = Files.readString(report);
        assertTrue(
                xml.contains("tests=\"9\"")
                        && xml.contains("failures=\"0\"")
                        && xml.contains("errors=\"0\"")
                        && xml.contains("skipped=\"0\""),
                "the kit's 9 checks ran and passed: " + xml.substring(0, 400));
    }

    @Test
    void seedInodeReuseScenarioThroughTheKernelWithTheExampleStrategy() throws Exception {
        Path bundles = ExampleBuild.trustedBundleDir(tmp);
        Path image = tmp.resolve("ext4.img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(32L << 20);
        }
        run("mkfs.ext4", "-q", "-F", "-N", "1024", image.toString());
        Path ext4 = Files.createDirectory(tmp.resolve("ext4"));
        run("mount", "-o", "loop", image.toString(), ext4.toString());
        Path mnt = Files.createDirectory(tmp.resolve("mnt"));
        Path sock = tmp.resolve("ctl.sock");
        Path log = tmp.resolve("daemon.log");
        Process daemon = null;
        try {
            Path shared = Files.createDirectory(ext4.resolve("share"));
            Path hostA = shared.resolve("A");
            Files.writeString(hostA, A);
            daemon = new ProcessBuilder(
                            Ctl.DIST.resolve("bin/virtiofsd-java").toString(),
                            "--transport=fuse-dev",
                            "--shared-dir",
                            shared.toString(),
                            "--mountpoint",
                            mnt.toString(),
                            "--cache=always",
                            "--bundles",
                            bundles.toString(),
                            "--strategy",
                            "hybrid",
                            "--control-socket",
                            sock.toString(),
                            // the mount must be on the host: no sandbox namespace (seccomp stays)
                            "--sandbox",
                            "none")
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            long deadline = System.currentTimeMillis() + 40_000;
            while (!(mounted(mnt) && Files.exists(sock))) {
                if (!daemon.isAlive() || System.currentTimeMillis() > deadline) {
                    fail("daemon did not mount: " + Files.readString(log));
                }
                Thread.sleep(50);
            }
            assertEquals("hybrid\n", Ctl.ok(sock, "strategy"));
            // The client looks A up and keeps its dentry (cache=always), and reads it twice.
            assertEquals(A, Files.readString(mnt.resolve("A")));
            assertEquals(A, Files.readString(mnt.resolve("A")));
            // The kernel sends RELEASE after close returns, without waiting for it: until the daemon
            // has served it, its open fd of A keeps the unlinked inode, and ext4 its number.
            awaitNoOpenFiles(sock);
            long inoA = ino(hostA);
            Files.delete(hostA);
            long inoB = -1;
            Path hostB = shared.resolve("B");
            int attempts = 0;
            while (attempts++ < 20) {
                Files.writeString(hostB, B);
                inoB = ino(hostB);
                if (inoB == inoA) {
                    break;
                }
                Files.move(hostB, shared.resolve("filler-" + attempts));
            }
            assertEquals(inoA, inoB, "precondition: ext4 gave B A's inode number (hybrid pins nothing)");
            assertEquals(B, Files.readString(mnt.resolve("B")), "B reads as B");
            String readA;
            try {
                readA = Files.readString(mnt.resolve("A"));
            } catch (IOException e) {
                readA = "<" + e.getClass().getSimpleName() + ">";
            }
            assertNotEquals(B, readA, "A's node must never serve B's data");
            String stats = Ctl.ok(sock, "stats");
            Map<String, Long> kinds = Ctl.numbers(stats, "inodesByKind");
            assertTrue(kinds.getOrDefault("hybrid", 0L) >= 2, stats);
            assertTrue(Ctl.ok(sock, "bundles").contains("ACTIVE\torg.example.virtiofsd.hybrid\t1.0.0"));
            // A clean stop (SIGTERM) is status 0: nothing the hybrid did was refused by seccomp (SIGSYS).
            daemon.destroy();
            assertTrue(daemon.waitFor(30, TimeUnit.SECONDS), "daemon stops");
            assertEquals(0, daemon.exitValue(), () -> "daemon exit status; log:\n" + readQuietly(log));
            assertTrue(readQuietly(log).contains("; seccomp kill;"), "seccomp on");
        } finally {
            if (daemon != null) {
                daemon.destroy();
                daemon.waitFor(30, TimeUnit.SECONDS);
                daemon.destroyForcibly();
            }
            if (mounted(mnt)) {
                run("umount", "-l", mnt.toString());
            }
            run("umount", ext4.toString());
        }
    }

    private static void awaitNoOpenFiles(Path sock) throws Exception {
        long deadline = System.currentTimeMillis() + 30_000;
        while (true) {
            String stats = Ctl.ok(sock, "stats");
            if (Ctl.number(stats, "openFiles") == 0) {
                return;
            }
            assertTrue(System.currentTimeMillis() < deadline, () -> "RELEASE never served: " + stats);
            Thread.sleep(20);
        }
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static long ino(Path p) throws IOException {
        return ((Number) Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS)).longValue();
    }

    private static boolean mounted(Path mountpoint) throws IOException {
        return Files.readAllLines(Paths.get("/proc/self/mountinfo")).stream()
                .anyMatch(l -> l.split(" ", -1)[4].equals(mountpoint.toString()));
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(List.of(cmd)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd));
        assertEquals(0, p.exitValue(), () -> String.join(" ", cmd) + ": " + out);
    }
}
