package dev.virtiofsd.it.live;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon as a process with a /dev/fuse mount (--transport=fuse-dev) and a control socket:
 * strategies switched, converted, and strategy bundles updated and stopped while the mount is
 * read and written; the profile options; the control socket's mode and refusals. The daemons are
 * started without a --sandbox, as a user would type the command: the mount must be on the host, so
 * this transport's default is no sandbox namespace; seccomp is the default, kill, and every daemon
 * must exit 0 (a refused system call would have killed it).
 */
class LiveCompositionIT {
    static final Path BIN = Ctl.DIST.resolve("bin/virtiofsd-java");

    @TempDir
    Path tmp;

    private Process daemon;
    private Path log;
    private Path mnt;

    @AfterEach
    void stopDaemon() throws Exception {
        Integer status = null;
        if (daemon != null && daemon.isAlive()) {
            daemon.destroy();
            if (daemon.waitFor(30, TimeUnit.SECONDS)) {
                status = daemon.exitValue();
            } else {
                daemon.destroyForcibly();
            }
        }
        if (mnt != null && mounted(mnt)) {
            new ProcessBuilder("umount", "-l", mnt.toString()).start().waitFor();
        }
        if (daemon != null && log != null) {
            // SIGTERM: a clean stop is status 0; seccomp's kill would be SIGSYS (159)
            assertEquals(0, status, () -> "daemon exit status; log:\n" + readQuietly(log));
            String text = readQuietly(log);
            assertTrue(text.contains("; seccomp kill;"), () -> "seccomp on: " + text);
        }
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private Path start(Path shared, String... extra) throws Exception {
        mnt = Files.createDirectory(tmp.resolve("mnt"));
        Path sock = tmp.resolve("ctl.sock");
        log = tmp.resolve("daemon.log");
        List<String> cmd = new ArrayList<>(List.of(
                BIN.toString(),
                "--transport=fuse-dev",
                "--shared-dir",
                shared.toString(),
                "--mountpoint",
                mnt.toString(),
                "--control-socket",
                sock.toString()));
        cmd.addAll(List.of(extra));
        daemon = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        await("mounted with a control socket", () -> mounted(mnt) && Files.exists(sock));
        return sock;
    }

    private void await(String what, BooleanSupplier condition) throws Exception {
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

    static boolean mounted(Path mountpoint) {
        try {
            return Files.readAllLines(Paths.get("/proc/self/mountinfo")).stream()
                    .anyMatch(l -> l.split(" ", -1)[4].equals(mountpoint.toString()));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The independent check of issue 12, as a test. */
    @Test
    void filesStayReadableAcrossASwitchAndStatsCountsBothKinds() throws Exception {
        Path shared = Files.createDirectory(tmp.resolve("shared"));
        for (int i = 0; i < 10; i++) {
            Files.writeString(shared.resolve("before" + i), "before " + i + "\n");
            Files.writeString(shared.resolve("after" + i), "after " + i + "\n");
        }
        Path sock = start(shared);
        assertEquals(
                "rw-------",
                java.nio.file.attribute.PosixFilePermissions.toString(
                        Files.getPosixFilePermissions(sock, LinkOption.NOFOLLOW_LINKS)));
        assertEquals("fd\n", Ctl.ok(sock, "strategy"));
        for (int i = 0; i < 10; i++) {
            assertEquals("before " + i + "\n", Files.readString(mnt.resolve("before" + i)));
        }
        assertEquals("handle-preferred\n", Ctl.ok(sock, "strategy", "handle-preferred"));
        assertEquals("handle-preferred\n", Ctl.ok(sock, "strategy"));
        for (int i = 0; i < 10; i++) {
            assertEquals("after " + i + "\n", Files.readString(mnt.resolve("after" + i)));
            assertEquals("before " + i + "\n", Files.readString(mnt.resolve("before" + i)), "looked up before");
        }
        String stats = Ctl.ok(sock, "stats");
        long fdsMixed = Ctl.number(stats, "inodeFds");
        Map<String, Long> kinds = Ctl.numbers(stats, "inodesByKind");
        assertTrue(kinds.getOrDefault("fd", 0L) >= 10, stats);
        assertTrue(kinds.getOrDefault("handle", 0L) >= 10, stats);
        assertTrue(Ctl.numbers(stats, "inodesByStrategy").containsKey("handle-preferred"), stats);
        assertTrue(Ctl.number(stats, "openFds") > 0, stats);
        assertTrue(stats.contains("\"LOOKUP\":{\"count\":"), stats);
        assertTrue(Ctl.ok(sock, "profile").contains("dev.virtiofsd.passthrough strategy=handle-preferred"));
        // The fd inodes shed their fds on command, keeping their node ids (the files stay readable).
        String converted = Ctl.ok(sock, "convert");
        assertTrue(converted.startsWith("converted "), converted);
        assertTrue(Long.parseLong(converted.trim().substring("converted ".length())) >= 10, converted);
        for (int i = 0; i < 10; i++) {
            assertEquals("before " + i + "\n", Files.readString(mnt.resolve("before" + i)));
        }
        String after = Ctl.ok(sock, "stats");
        assertFalse(Ctl.numbers(after, "inodesByKind").containsKey("fd"));
        System.out.println("LiveCompositionIT figures: " + Ctl.number(after, "inodes") + " inodes; inode fds "
                + fdsMixed + " with " + kinds + " -> " + Ctl.number(after, "inodeFds") + " after convert ("
                + converted.trim() + "), " + Ctl.numbers(after, "inodesByKind"));
    }

    @Test
    void refusalsAreOneLineAndChangeNothing() throws Exception {
        Path shared = Files.createDirectory(tmp.resolve("shared"));
        Path sock = start(shared);
        Ctl.Result r = Ctl.call(sock, "strategy", "acme");
        assertEquals(1, r.status());
        assertEquals(
                "virtiofsd-java-ctl: no inode-identity strategy named acme (available: fd, handle-only,"
                        + " handle-preferred)\n",
                r.out());
        assertEquals(1, Ctl.call(sock, "rm", "-rf").status(), "only the daemon's commands");
        assertEquals(1, Ctl.call(sock, "stats", "$(x)").status(), "arguments are plain words");
        assertEquals(1, Ctl.call(sock, "update", "dev.virtiofsd.control").status(), "not the bundle serving it");
        assertEquals(2, Ctl.call(tmp.resolve("nothing.sock"), "stats").status());
        assertEquals("fd\n", Ctl.ok(sock, "strategy"));
    }

    /**
     * A writer and a reader work on the mount while the strategy goes fd -> handle -> fd -> handle,
     * the handle strategies' bundle is updated, then stopped and started again: no operation fails,
     * every file written reads back with its checksum, and both identity kinds were in use.
     */
    @Test
    void workOnTheMountSurvivesSwitchesAndStrategyBundleUpdateAndStop() throws Exception {
        Path shared = Files.createDirectory(tmp.resolve("shared"));
        Path sock = start(shared);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicInteger files = new AtomicInteger();
        Thread worker = new Thread(() -> {
            try {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                for (int round = 0; !stop.get(); round++) {
                    Path dir = Files.createDirectories(
                            mnt.resolve("tree" + (round % 4)).resolve("d" + round));
                    for (int i = 0; i < 20; i++) {
                        byte[] data = ("round " + round + " file " + i + " ")
                                .repeat(200 + i)
                                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
                        Path f = dir.resolve("f" + i);
                        Files.write(f, data);
                        String want = HexFormat.of().formatHex(md.digest(data));
                        String got = HexFormat.of().formatHex(md.digest(Files.readAllBytes(f)));
                        if (!want.equals(got)) {
                            throw new AssertionError("checksum of " + f);
                        }
                        files.incrementAndGet();
                    }
                    // lookups of earlier rounds' files, made under other strategies
                    try (var s = Files.walk(mnt.resolve("tree" + (round % 4)))) {
                        for (Path p : (Iterable<Path>) s::iterator) {
                            if (Files.isRegularFile(p)) {
                                Files.readAllBytes(p);
                            }
                        }
                    }
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        worker.start();
        try {
            String[][] steps = {
                {"strategy", "handle-preferred"},
                {"strategy", "fd"},
                {"strategy", "handle-preferred"},
                {"update", "dev.virtiofsd.strategy.handle"},
                {"strategy", "fd"},
                {"strategy", "handle-preferred"},
                {"stop", "dev.virtiofsd.strategy.handle"},
                {"start", "dev.virtiofsd.strategy.handle"},
                {"convert"},
            };
            boolean sawBoth = false;
            List<String> figures = new ArrayList<>();
            for (String[] step : steps) {
                Thread.sleep(400);
                Ctl.ok(sock, step);
                String st = Ctl.ok(sock, "stats");
                Map<String, Long> kinds = Ctl.numbers(st, "inodesByKind");
                figures.add(String.join(" ", step) + ": " + kinds + ", inode fds " + Ctl.number(st, "inodeFds")
                        + ", process fds " + Ctl.number(st, "openFds") + ", files checked so far " + files.get());
                sawBoth |= kinds.getOrDefault("fd", 0L) > 0 && kinds.getOrDefault("handle", 0L) > 0;
                assertEquals(null, failure.get(), () -> "after " + String.join(" ", step));
            }
            assertTrue(sawBoth, "inodes of both kinds at the same time");
            System.out.println("LiveCompositionIT under load:\n  " + String.join("\n  ", figures));
            assertEquals("handle-preferred\n", Ctl.ok(sock, "strategy"), "back after the bundle restarted");
            Thread.sleep(400);
        } finally {
            stop.set(true);
            worker.join(60_000);
        }
        if (failure.get() != null) {
            throw new AssertionError("work on the mount failed; daemon log:\n" + Files.readString(log), failure.get());
        }
        assertTrue(files.get() > 40, files.get() + " files written and checked");
        System.out.println("LiveCompositionIT under load: " + files.get() + " files written and checksummed, 0 failed,"
                + " across 9 steps (switches, bundle update, stop, start, convert)");
        String bundles = Ctl.ok(sock, "bundles");
        assertTrue(bundles.contains("ACTIVE\tdev.virtiofsd.strategy.handle"), bundles);
        assertNotEquals(0, Ctl.number(Ctl.ok(sock, "stats"), "inodes"));
        String daemonLog = Files.readString(log);
        assertTrue(daemonLog.contains("strategy handle-preferred went away"), daemonLog);
        assertFalse(daemonLog.contains(" ERROR "), daemonLog);
    }

    @Test
    void hostMountProfileSelectsTheFuseTransportAndTheCommandLineWins() throws Exception {
        Path shared = Files.createDirectory(tmp.resolve("shared"));
        Files.writeString(shared.resolve("x"), "x\n");
        mnt = Files.createDirectory(tmp.resolve("mnt"));
        Path sock = tmp.resolve("ctl.sock");
        log = tmp.resolve("daemon.log");
        daemon = new ProcessBuilder(
                        BIN.toString(),
                        "--profile",
                        "host-mount",
                        "--shared-dir",
                        shared.toString(),
                        "--mountpoint",
                        mnt.toString(),
                        "--control-socket",
                        sock.toString(),
                        "--strategy",
                        "handle-only")
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        long t0 = System.nanoTime();
        await("host-mount profile mounted", () -> mounted(mnt) && Files.exists(sock));
        System.out.printf(
                java.util.Locale.ROOT,
                "LiveCompositionIT: --profile host-mount mounted and listening %.2f s after exec%n",
                (System.nanoTime() - t0) / 1e9);
        assertEquals("x\n", Files.readString(mnt.resolve("x")));
        String profile = Ctl.ok(sock, "profile");
        assertTrue(profile.startsWith("profile host-mount ("), profile);
        assertTrue(profile.contains("dev.virtiofsd.launcher transport=fuse-dev"), profile);
        assertTrue(profile.contains("dev.virtiofsd.passthrough strategy=handle-only"), "command line wins: " + profile);
        assertTrue(profile.contains("dev.virtiofsd.transport.fusedev threads=2"), "from the profile: " + profile);
        assertEquals("handle-only\n", Ctl.ok(sock, "strategy"));
        assertFalse(Ctl.ok(sock, "bundles").contains("dev.virtiofsd.transport.vhostuser"), "not in its bundle set");
    }

    @Test
    void aBadProfileIsOneLine() throws Exception {
        Path bad = tmp.resolve("bad.json");
        Files.writeString(bad, "{ \"dev.virtiofsd.passthrough\": { \"cache\": ");
        Path out = tmp.resolve("out");
        Process p = new ProcessBuilder(
                        BIN.toString(),
                        "--profile",
                        bad.toString(),
                        "--shared-dir",
                        tmp.toString(),
                        "--socket-path",
                        tmp.resolve("s").toString())
                .redirectErrorStream(true)
                .redirectOutput(out.toFile())
                .start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertNotEquals(0, p.exitValue());
        List<String> lines = Files.readAllLines(out);
        assertEquals(1, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith("virtiofsd-java: --profile " + bad + ": "), lines.get(0));
        p = new ProcessBuilder(
                        BIN.toString(),
                        "--profile",
                        "nope",
                        "--shared-dir",
                        tmp.toString(),
                        "--socket-path",
                        tmp.resolve("s").toString())
                .redirectErrorStream(true)
                .redirectOutput(out.toFile())
                .start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        lines = Files.readAllLines(out);
        assertEquals(1, lines.size(), lines.toString());
        assertTrue(
                lines.get(0).contains("no profile named nope")
                        && lines.get(0).contains("hardened, host-mount, kata, libvirt"),
                lines.get(0));
    }
}
