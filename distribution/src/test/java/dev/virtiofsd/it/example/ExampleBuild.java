package dev.virtiofsd.it.example;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Builds examples/hybrid-strategy as its author would, with its own pom and Maven, against the SDK
 * repository of the distribution under test (sdk/repository: api, native, the conformance kit):
 * once per test JVM, in a copy under target/, running its unit tests and the conformance kit.
 */
public final class ExampleBuild {
    static final Path DIST = Paths.get(System.getProperty("virtiofsd.dist", "target/virtiofsd-java"));
    static final Path EXAMPLES = Paths.get(System.getProperty("virtiofsd.examples", "../examples"));
    static final String VERSION = System.getProperty("virtiofsd.version", "0.1.0-SNAPSHOT");
    /** The artifacts the SDK repository holds, as a local Maven repository caches them. */
    static final String[] SDK_ARTIFACTS = {"virtiofsd-java", "bundles", "api", "native", "strategy-conformance"};

    private static Path jar;
    private static Path project;

    private ExampleBuild() {}

    /** The example's bundle jar, built on first use. */
    public static synchronized Path jar() throws IOException, InterruptedException {
        if (jar == null) {
            build();
        }
        return jar;
    }

    /** The built copy of the project (its target/ holds the surefire reports). */
    public static synchronized Path project() throws IOException, InterruptedException {
        jar();
        return project;
    }

    private static void build() throws IOException, InterruptedException {
        Path sdk = DIST.resolve("sdk/repository").toAbsolutePath();
        if (!Files.isDirectory(sdk.resolve("dev/virtiofsd/api"))) {
            throw new IOException("no SDK repository in " + sdk + " (the distribution module writes it)");
        }
        purgeCachedSdk();
        Path work = DIST.toAbsolutePath().getParent().resolve("example-build");
        deleteTree(work);
        Path copy = work.resolve("hybrid-strategy");
        copyTree(EXAMPLES.resolve("hybrid-strategy").toAbsolutePath(), copy);
        Path log = work.resolve("build.log");
        List<String> cmd = new ArrayList<>(List.of(
                mvn(),
                "-B",
                "-f",
                copy.resolve("pom.xml").toString(),
                "-Dvirtiofsd.sdk.repository=" + sdk.toUri(),
                "-Dvirtiofsd.version=" + VERSION,
                "verify"));
        Process p = new ProcessBuilder(cmd)
                .directory(copy.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        if (!p.waitFor(15, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IOException("example build timed out: " + String.join(" ", cmd));
        }
        String out = Files.readString(log);
        if (p.exitValue() != 0) {
            throw new IOException("example build failed (" + String.join(" ", cmd) + "):\n" + tail(out, 60));
        }
        Path built = copy.resolve("target/hybrid-strategy-1.0.0.jar");
        if (!Files.isRegularFile(built)) {
            throw new IOException("example build made no " + built + ":\n" + tail(out, 30));
        }
        project = copy;
        jar = built;
    }

    /** Maven of the running build (failsafe passes maven.home), else mvn on PATH. */
    private static String mvn() {
        String home = System.getProperty("maven.home");
        if (home != null && Files.isExecutable(Paths.get(home, "bin/mvn"))) {
            return Paths.get(home, "bin/mvn").toString();
        }
        return "mvn";
    }

    /**
     * Copies of SDK artifacts a local repository cached from an earlier SDK (same snapshot version,
     * other content) would be taken instead of this build's: they go. Artifacts installed by a
     * developer's own "mvn install" are left alone.
     */
    private static void purgeCachedSdk() throws IOException {
        Path m2 = Paths.get(System.getProperty("user.home"), ".m2/repository/dev/virtiofsd");
        for (String a : SDK_ARTIFACTS) {
            Path dir = m2.resolve(a).resolve(VERSION);
            Path origin = dir.resolve("_remote.repositories");
            if (Files.isRegularFile(origin) && Files.readString(origin).contains(">virtiofsd-sdk=")) {
                deleteTree(dir);
            }
        }
    }

    static String tail(String s, int lines) {
        String[] l = s.split("\n", -1);
        return String.join("\n", java.util.Arrays.copyOfRange(l, Math.max(0, l.length - lines), l.length));
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path rel = from.relativize(p);
                if (rel.startsWith("target")) {
                    continue;
                }
                Path t = to.resolve(rel.toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /**
     * A --bundles directory with the example jar that the daemon's trust check accepts: modes set
     * explicitly, as a framework test earlier in this JVM may have left the process umask at 0 (the
     * passthrough sets it), and the daemon refuses a bundle directory or jar others can write.
     */
    public static Path trustedBundleDir(Path parent) throws IOException, InterruptedException {
        Path bundles = Files.createDirectories(parent.resolve("bundles"));
        Files.setPosixFilePermissions(bundles, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Path jar = bundles.resolve("hybrid-strategy.jar");
        Files.copy(ExampleBuild.jar(), jar, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(jar, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        return bundles;
    }
}
