package dev.virtiofsd.it.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/virtiofsd-java on JDK 25 or newer: the ahead-of-time cache (JEPs 483/515) in the per-user
 * cache directory. A --sandbox none start that finds none records a training run (with the default
 * seccomp filter: nothing at its exit may be killed by it), the next start assembles the cache in the
 * background, later starts, sandboxed ones too, map it; a sandboxed start writes nothing; a start
 * that never served leaves nothing that is used. The daemon's output stays the daemon's.
 */
class AheadOfTimeCacheIT {
    static final Path BIN = DaemonProcessIT.BIN;

    @TempDir
    Path tmp;

    Path jdk;
    Path cache;
    Path shared;

    /** A JDK 25 or newer: VIRTIOFSD_IT_JDK25, else the newest one under /usr/lib/jvm. */
    static Optional<Path> jdk25() throws IOException {
        String given = System.getenv("VIRTIOFSD_IT_JDK25");
        if (given != null && !given.isEmpty()) {
            return Optional.of(Paths.get(given));
        }
        Path jvms = Paths.get("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) {
            return Optional.empty();
        }
        Pattern version = Pattern.compile("(?m)^JAVA_VERSION=\"(\\d+)");
        Path best = null;
        int bestFeature = 0;
        try (Stream<Path> s = Files.list(jvms)) {
            for (Path home : s.toList()) {
                Path release = home.resolve("release");
                if (!Files.isRegularFile(release) || !Files.isExecutable(home.resolve("bin/java"))) {
                    continue;
                }
                Matcher m = version.matcher(Files.readString(release));
                if (m.find() && Integer.parseInt(m.group(1)) >= 25 && Integer.parseInt(m.group(1)) > bestFeature) {
                    best = home;
                    bestFeature = Integer.parseInt(m.group(1));
                }
            }
        }
        return Optional.ofNullable(best);
    }

    @BeforeEach
    void setUp() throws IOException {
        Optional<Path> found = jdk25();
        if (found.isEmpty()) {
            String why = "AheadOfTimeCacheIT NOT RUN: no JDK 25 or newer under /usr/lib/jvm (or VIRTIOFSD_IT_JDK25)";
            System.err.println(why);
            Assumptions.abort(why);
        }
        jdk = found.get();
        cache = Files.createDirectory(
                tmp.resolve("cache"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        shared = Files.createDirectory(tmp.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private Process start(Path log, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(BIN.toString());
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        // The ITs' JaCoCo agent turns the cache off (an agent and a class-data dump do not mix).
        env.remove("VIRTIOFSD_JAVA_OPTS");
        env.remove("VIRTIOFSD_JAVA_CDS");
        env.put("JAVA_HOME", jdk.toString());
        env.put("VIRTIOFSD_JAVA_CACHE_DIR", cache.toString());
        return pb.start();
    }

    private Process serve(Path log, Path socket, String sandbox) throws IOException {
        return start(
                log,
                "--shared-dir",
                shared.toString(),
                "--socket-path",
                socket.toString(),
                "--sandbox",
                sandbox,
                "--log-level",
                "warn");
    }

    private static void await(String what, BooleanSupplier condition, Process daemon, Path log) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
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

    /** SIGTERM; a training run assembles its cache before it exits (seconds on a loaded machine). */
    private static void stop(Process daemon, Path log) throws Exception {
        daemon.destroy();
        if (!daemon.waitFor(180, TimeUnit.SECONDS)) {
            daemon.destroyForcibly();
            fail("no exit within 180 s of SIGTERM: " + Files.readString(log));
        }
        assertEquals(0, daemon.exitValue(), Files.readString(log));
    }

    private List<Path> cacheFiles(String suffix) throws IOException {
        try (Stream<Path> s = Files.list(cache)) {
            return s.filter(p -> p.getFileName().toString().endsWith(suffix))
                    .sorted()
                    .toList();
        }
    }

    /** Whether the daemon maps {@code file}: by inode and name (its path may read differently once sandboxed). */
    private static boolean maps(Process daemon, Path file) {
        try {
            String inode = " " + Files.getAttribute(file, "unix:ino") + " ";
            String name = "/" + file.getFileName();
            return Files.readAllLines(Paths.get("/proc", Long.toString(daemon.pid()), "maps")).stream()
                    .anyMatch(l -> l.contains(inode) && l.endsWith(name));
        } catch (IOException e) {
            return false; // exited meanwhile: the caller's await reports it
        }
    }

    /** Lines of the daemon's output that come from the JVM's cache handling rather than the daemon. */
    private static List<String> jvmNoise(Path log) throws IOException {
        return Files.readAllLines(log).stream()
                .filter(l -> l.contains("AOT") || l.contains("Picked up") || l.contains("[aot]") || l.contains("[cds]"))
                .toList();
    }

    @Test
    void aSandboxNoneStartTrainsTheNextAssemblesAndLaterStartsSandboxedOrNotMapTheCache() throws Exception {
        Path log = tmp.resolve("train.log");
        Process training = serve(log, tmp.resolve("a.sock"), "none");
        try {
            await("the training run's marker", () -> uncheckedCount(".aotconfig.served") == 1, training, log);
        } finally {
            stop(training, log);
        }
        assertEquals(1, cacheFiles(".aotconfig").size(), "the training run's recording: " + cacheFiles(""));
        assertEquals(List.of(), cacheFiles(".aot"));
        assertEquals(List.of(), jvmNoise(log), "the JVM's messages reached the daemon's output");

        // The recording is complete 5 s after it was written: a start after that claims it and
        // assembles the cache in the background, while it runs without one.
        Thread.sleep(5_500);
        Path log1 = tmp.resolve("assemble.log");
        Path socketB = tmp.resolve("b.sock");
        Process assembling = serve(log1, socketB, "none");
        try {
            await("socket " + socketB, () -> Files.exists(socketB), assembling, log1);
            await("the cache assembled in the background", () -> uncheckedCount(".aot") == 1, assembling, log1);
        } finally {
            stop(assembling, log1);
        }
        assertEquals(List.of(), jvmNoise(log1));
        assertEquals(List.of(), cacheFiles(".aotconfig"), "the recording was left: " + cacheFiles(""));
        Path cacheFile = cacheFiles(".aot").get(0);
        assertTrue(Files.size(cacheFile) > 8 << 20, "a cache of a whole start-up: " + Files.size(cacheFile));
        FileTime written = Files.getLastModifiedTime(cacheFile);

        for (String sandbox : List.of("none", "namespace")) {
            Path log2 = tmp.resolve(sandbox + ".log");
            Path socket = tmp.resolve(sandbox + ".sock");
            Process later = serve(log2, socket, sandbox);
            try {
                // Serving (a SIGTERM before the launcher handles it would end the JVM with 143).
                await("socket " + socket, () -> Files.exists(socket), later, log2);
                await("--sandbox " + sandbox + " maps " + cacheFile, () -> maps(later, cacheFile), later, log2);
            } finally {
                stop(later, log2);
            }
            assertEquals(List.of(), jvmNoise(log2));
            assertEquals(written, Files.getLastModifiedTime(cacheFile), "--sandbox " + sandbox + " rewrote the cache");
            assertEquals(List.of(cacheFile), cacheFiles(""), "--sandbox " + sandbox + " recorded again");
        }
    }

    @Test
    void aSandboxedStartWritesNoCache() throws Exception {
        Path log = tmp.resolve("log");
        Path socket = tmp.resolve("s.sock");
        Process daemon = serve(log, socket, "namespace");
        try {
            await("socket " + socket, () -> Files.exists(socket), daemon, log);
        } finally {
            stop(daemon, log);
        }
        assertEquals(List.of(), cacheFiles(""), "a sandboxed start wrote into the cache directory");
        assertEquals(List.of(), jvmNoise(log));
    }

    @Test
    void aBadCommandLineIsStillOneLineAndItsCacheIsDropped() throws Exception {
        Path log = tmp.resolve("log");
        Process p = start(log, "--sandbox", "none", "--shared-dir", "/nonexistent", "--socket-path", "/tmp/x.sock");
        assertTrue(p.waitFor(180, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue());
        assertEquals(List.of("virtiofsd-java: --shared-dir /nonexistent: no such directory"), Files.readAllLines(log));
        assertEquals(List.of(), cacheFiles(".served"), "a start that never served marked its recording");
        // Whatever the JVM recorded at that exit (the JDK and launcher classes of a failed start) is
        // not used: the next start drops it.
        Path log2 = tmp.resolve("log2");
        Process version = start(log2, "--version");
        assertTrue(version.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, version.exitValue(), Files.readString(log2));
        assertEquals(List.of(), cacheFiles(""));
        assertFalse(Files.readString(log2).contains("AOT"), Files.readString(log2));
    }

    private long uncheckedCount(String suffix) {
        try {
            return cacheFiles(suffix).size();
        } catch (IOException e) {
            return -1;
        }
    }
}
