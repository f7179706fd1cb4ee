package dev.virtiofsd.it.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** bin/virtiofsd-java as a process: command-line errors, a fuse-dev mount, a vhost-user socket, SIGTERM. */
class DaemonProcessIT {
    static final Path DIST = Paths.get(System.getProperty("virtiofsd.dist", "target/virtiofsd-java"));
    static final Path BIN = DIST.resolve("bin/virtiofsd-java");

    @TempDir
    Path tmp;

    private Process start(Path log, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(BIN.toString());
        cmd.addAll(Arrays.asList(args));
        return new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
    }

    private static String run(Path cwd, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd)
                .directory(cwd.toFile())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", cmd) + " hangs");
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + out);
        return out;
    }

    private static void await(String what, BooleanSupplier condition, Process daemon, Path log) throws Exception {
        long deadline = System.currentTimeMillis() + 40_000;
        while (!condition.getAsBoolean()) {
            if (!daemon.isAlive()) {
                fail(what + ": daemon exited with " + daemon.exitValue() + ": " + Files.readString(log));
            }
            if (System.currentTimeMillis() > deadline) {
                fail(what + ": timed out; log: " + Files.readString(log));
            }
            Thread.sleep(50);
        }
    }

    private static int stop(Process daemon, Path log) throws Exception {
        daemon.destroy(); // SIGTERM
        if (!daemon.waitFor(30, TimeUnit.SECONDS)) {
            daemon.destroyForcibly();
            fail("no exit within 30 s of SIGTERM: " + Files.readString(log));
        }
        return daemon.exitValue();
    }

    private static boolean mounted(Path mountpoint) {
        try {
            return Files.readAllLines(Paths.get("/proc/self/mountinfo")).stream()
                    .anyMatch(l -> l.split(" ", -1)[4].equals(mountpoint.toString()));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void missingSharedDirIsOneLineAndNonZero() throws Exception {
        Path log = tmp.resolve("log");
        Process p = start(log, "--shared-dir", "/nonexistent", "--socket-path", "/tmp/x.sock");
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertNotEquals(0, p.exitValue());
        assertEquals(List.of("virtiofsd-java: --shared-dir /nonexistent: no such directory"), Files.readAllLines(log));
    }

    @Test
    void refusedOptionIsNamed() throws Exception {
        Path log = tmp.resolve("log");
        Process p = start(
                log,
                "--shared-dir",
                tmp.toString(),
                "--socket-path",
                tmp.resolve("s").toString(),
                "--uid-map=:0:0:1:");
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue());
        assertEquals(
                List.of("virtiofsd-java: --uid-map can only be used by an unprivileged user (the user namespace of"
                        + " --sandbox=namespace); root needs no id map"),
                Files.readAllLines(log));
    }

    @Test
    void printCapabilitiesSaysFs() throws Exception {
        Path log = tmp.resolve("log");
        Process p = start(log, "--print-capabilities");
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue());
        String out = Files.readString(log);
        assertTrue(out.replaceAll("\\s", "").startsWith("{\"type\":\"fs\""), out);
    }

    @Test
    void fuseDevMountServesACopyOfASourceTreeAndSigtermUnmounts() throws Exception {
        Path shared = Files.createDirectory(tmp.resolve("shared"));
        Path mnt = Files.createDirectory(tmp.resolve("mnt"));
        Path source = Paths.get("src").toAbsolutePath();
        Files.writeString(shared.resolve("from-host.txt"), "written on the host\n");
        Path log = tmp.resolve("log");
        // A private mount namespace would hide the mount: fuse-dev needs --sandbox none; seccomp
        // (kill, the default) and the capability bounding set still apply.
        Process daemon = start(
                log,
                "--transport=fuse-dev",
                "--sandbox",
                "none",
                "--shared-dir",
                shared.toString(),
                "--mountpoint",
                mnt.toString(),
                "--log-level",
                "warn");
        try {
            await("mount in /proc/self/mountinfo", () -> mounted(mnt), daemon, log);
            assertTrue(run(mnt, "ls", "-la", mnt.toString()).contains("from-host.txt"));
            run(mnt, "cp", "-a", source.toString(), mnt.resolve("copy").toString());
            run(mnt, "diff", "-r", source.toString(), mnt.resolve("copy").toString());
            run(mnt, "diff", "-r", source.toString(), shared.resolve("copy").toString());
            // Same names, modes, owners, sizes and mtimes seen through the mount as on the host.
            assertEquals(
                    run(shared.resolve("copy"), "ls", "-lnR", "--time-style=+%s", "."),
                    run(mnt.resolve("copy"), "ls", "-lnR", "--time-style=+%s", "."));
        } finally {
            int status = stop(daemon, log);
            assertEquals(0, status, Files.readString(log));
        }
        assertFalse(mounted(mnt), "still mounted after SIGTERM");
    }

    @Test
    void vhostUserSocketAppearsAndSigtermRemovesIt() throws Exception {
        Path shared = Files.createDirectory(tmp.resolve("shared"));
        Path socket = tmp.resolve("vhost.sock");
        Path log = tmp.resolve("log");
        Process daemon = start(
                log,
                "--shared-dir",
                shared.toString(),
                "--socket-path",
                socket.toString(),
                "--sandbox",
                "none",
                "--log-level",
                "warn");
        try {
            await("socket " + socket, () -> Files.exists(socket), daemon, log);
        } finally {
            int status = stop(daemon, log);
            assertEquals(0, status, Files.readString(log));
        }
        assertFalse(Files.exists(socket), "socket still there after SIGTERM");
    }
}
