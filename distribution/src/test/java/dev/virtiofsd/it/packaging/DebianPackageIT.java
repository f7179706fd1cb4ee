package dev.virtiofsd.it.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.virtiofsd.launcher.CommandLine;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Debian package the build makes (jdeb): dpkg -i puts the daemon under /usr/lib/virtiofsd-java
 * with /usr/bin/virtiofsd-java, the vhost-user JSON where QEMU and libvirt look, the man page made
 * from --help and the systemd template unit; the unit's command line with a NAME.conf serves; dpkg
 * --purge leaves nothing behind.
 */
class DebianPackageIT {
    static final String PACKAGE = "virtiofsd-java";
    static final Path TARGET = Paths.get(System.getProperty("virtiofsd.dist", "target/virtiofsd-java"))
            .getParent();

    @TempDir
    Path tmp;

    static String run(String... cmd) throws Exception {
        return run(true, cmd);
    }

    /** Runs a command; dpkg waits for another dpkg's lock instead of failing. */
    static String run(boolean check, String... cmd) throws Exception {
        List<String> argv = new ArrayList<>(List.of(cmd));
        if (argv.get(0).equals("dpkg")) {
            argv.addAll(1, List.of("--force-confold"));
        }
        for (int attempt = 0; ; attempt++) {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(300, TimeUnit.SECONDS), String.join(" ", cmd) + " hangs");
            if (p.exitValue() != 0 && out.contains("lock") && argv.get(0).equals("dpkg") && attempt < 60) {
                Thread.sleep(2000);
                continue;
            }
            if (check && p.exitValue() != 0) {
                fail(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out);
            }
            return out;
        }
    }

    static boolean installed() throws Exception {
        return run(false, "dpkg-query", "-W", "-f=${Status}", PACKAGE).contains("install ok installed");
    }

    static Path deb() throws IOException {
        try (Stream<Path> s = Files.list(TARGET)) {
            return s.filter(p -> p.getFileName().toString().matches("virtiofsd-java_.*_all\\.deb"))
                    .max((a, b) ->
                            Long.compare(a.toFile().lastModified(), b.toFile().lastModified()))
                    .orElseThrow(() -> new AssertionError("no virtiofsd-java_*_all.deb in " + TARGET));
        }
    }

    static final List<String> FILES = List.of(
            "/usr/lib/virtiofsd-java/bin/virtiofsd-java",
            "/usr/bin/virtiofsd-java",
            "/usr/share/qemu/vhost-user/50-virtiofsd-java.json",
            "/usr/share/man/man1/virtiofsd-java.1.gz",
            "/lib/systemd/system/virtiofsd-java@.service",
            "/etc/virtiofsd-java/NAME.conf.example");

    @Test
    void installServeAndPurge() throws Exception {
        if (installed()) {
            run("dpkg", "--purge", PACKAGE); // a leftover of an interrupted run
        }
        Path deb = deb();
        String contents = run("dpkg-deb", "--contents", deb.toString());
        for (String f : FILES) {
            assertTrue(contents.contains("." + f), f + " missing from the package:\n" + contents);
        }
        try {
            run("dpkg", "-i", deb.toString());
            assertTrue(installed());
            for (String f : FILES) {
                assertTrue(Files.exists(Paths.get(f)), f);
            }
            assertTrue(Files.isExecutable(Paths.get("/usr/bin/virtiofsd-java")));
            // what QEMU/libvirt read: type fs, our binary, the features --print-capabilities reports
            String json = Files.readString(Paths.get("/usr/share/qemu/vhost-user/50-virtiofsd-java.json"));
            assertTrue(json.contains("\"binary\": \"/usr/lib/virtiofsd-java/bin/virtiofsd-java\""), json);
            assertTrue(json.contains("\"type\": \"fs\""), json);
            String caps = run("/usr/bin/virtiofsd-java", "--print-capabilities");
            assertEquals(features(caps), features(json), "JSON features and --print-capabilities agree");
            // the man page is the --help text: every option is in it
            String man;
            try (GZIPInputStream in =
                    new GZIPInputStream(Files.newInputStream(Paths.get("/usr/share/man/man1/virtiofsd-java.1.gz")))) {
                man = new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("\\-", "-");
            }
            for (String option : CommandLine.optionNames()) {
                assertTrue(man.contains(option), option + " missing from the man page");
            }
            assertTrue(
                    man.startsWith(".TH VIRTIOFSD-JAVA 1"),
                    man.lines().findFirst().orElse(""));
            // the unit file is valid for systemd, and its command line with a NAME.conf serves
            run("systemd-analyze", "verify", "/lib/systemd/system/virtiofsd-java@.service");
            serveAsTheUnitWould();
        } finally {
            if (installed()) {
                run("dpkg", "--purge", PACKAGE);
            }
        }
        assertFalse(installed());
        for (String f : FILES) {
            assertFalse(Files.exists(Paths.get(f), java.nio.file.LinkOption.NOFOLLOW_LINKS), f + " left after purge");
        }
        assertFalse(Files.exists(Paths.get("/usr/lib/virtiofsd-java")), "/usr/lib/virtiofsd-java left after purge");
        assertFalse(Files.exists(Paths.get("/etc/virtiofsd-java")), "/etc/virtiofsd-java left after purge");
    }

    static List<String> features(String json) throws IOException {
        List<String> out = new ArrayList<>();
        for (JsonNode f : new ObjectMapper().readTree(json).path("features")) {
            out.add(f.asText());
        }
        return out;
    }

    /** ExecStart of the installed unit, with systemd's expansion: ${X} one word, $X split at spaces. */
    private void serveAsTheUnitWould() throws Exception {
        String unit = Files.readString(Paths.get("/lib/systemd/system/virtiofsd-java@.service"));
        String exec = unit.lines()
                .filter(l -> l.startsWith("ExecStart="))
                .findFirst()
                .orElseThrow()
                .substring("ExecStart=".length());
        Path shared = Files.createDirectories(tmp.resolve("share"));
        Path socket = Paths.get("/tmp", "vfsj-unit-" + ProcessHandle.current().pid() + ".sock");
        String args = "--cache=never --xattr";
        List<String> argv = new ArrayList<>();
        for (String word : exec.split("\\s+", -1)) {
            switch (word) {
                case "${SHARED_DIR}":
                    argv.add(shared.toString());
                    break;
                case "${SOCKET_PATH}":
                    argv.add(socket.toString());
                    break;
                case "$VIRTIOFSD_ARGS":
                    argv.addAll(List.of(args.split(" ")));
                    break;
                default:
                    argv.add(word);
            }
        }
        Path log = tmp.resolve("unit.log");
        Process p = new ProcessBuilder(argv)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.readString(log).contains("serving " + shared)) {
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    fail("the unit's command " + argv + " did not serve: " + Files.readString(log));
                }
                Thread.sleep(50);
            }
            assertTrue(Files.exists(socket));
        } finally {
            p.destroy();
            p.waitFor(30, TimeUnit.SECONDS);
            Files.deleteIfExists(socket);
        }
    }
}
