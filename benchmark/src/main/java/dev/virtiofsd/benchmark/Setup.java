package dev.virtiofsd.benchmark;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Where things are: the checkout, our distribution, the peer binary, the output folder. */
final class Setup {
    /** The peer wrapper that scripts/peer/install-virtiofsd.sh writes (VIRTIOFSD_PEER_DIR overrides the folder). */
    static Path defaultPeer() {
        String dir = System.getenv("VIRTIOFSD_PEER_DIR");
        return Path.of(dir == null || dir.isEmpty() ? "/opt/virtiofsd-peer" : dir, "virtiofsd");
    }

    final Path root;
    final Path peer;
    final Path out;
    /** "launcher" (default: the distribution's bin script) or "in-process" (development wiring only). */
    final String oursKind;

    Setup(Path root, Path peer, Path out, String oursKind) {
        this.root = root;
        this.peer = peer;
        this.out = out;
        this.oursKind = oursKind;
    }

    static Setup detect(Path out) throws IOException {
        String r = System.getProperty("virtiofsd.root");
        Path root = r != null ? Path.of(r) : findRoot(Path.of("").toAbsolutePath());
        String kind = System.getenv().getOrDefault("VIRTIOFSD_BENCH_OURS", "launcher");
        return new Setup(root, defaultPeer(), out != null ? out : root.resolve("benchmark/target"), kind);
    }

    private static Path findRoot(Path from) throws IOException {
        for (Path p = from; p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("benchmark"))
                    && Files.isDirectory(p.resolve("distribution"))
                    && Files.exists(p.resolve("pom.xml"))) {
                return p;
            }
        }
        throw new IOException("cannot find the virtiofsd-java checkout above " + from + " (set -Dvirtiofsd.root)");
    }

    Path oursLauncher() {
        return root.resolve("distribution/target/virtiofsd-java/bin/virtiofsd-java");
    }

    /** As {@link #oursCommand(String)}, from the distribution folder {@code config} names, if it names one. */
    List<String> oursCommand(Daemon.Config config, String javaOpts) {
        if (!config.dist().isEmpty() && !inProcess()) {
            return List.of(Path.of(config.dist(), "bin", "virtiofsd-java").toString());
        }
        return oursCommand(javaOpts);
    }

    /** Our daemon's command; {@code javaOpts} reach the launcher through VIRTIOFSD_JAVA_OPTS instead. */
    List<String> oursCommand(String javaOpts) {
        if (oursKind.equals("in-process")) {
            List<String> c = new java.util.ArrayList<>();
            c.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            if (javaOpts != null && !javaOpts.isBlank()) {
                c.addAll(List.of(javaOpts.trim().split("\\s+")));
            }
            c.addAll(List.of("-cp", System.getProperty("java.class.path"), DevDaemon.class.getName()));
            return c;
        }
        return List.of(oursLauncher().toString());
    }

    /** Our daemon is the development wiring in this JVM's class path (no launcher, no sandbox). */
    boolean inProcess() {
        return oursKind.equals("in-process");
    }

    String oursDescription() {
        return oursKind.equals("in-process")
                ? "DEVELOPMENT WIRING (DevDaemon: FdStrategy/Handle* -> PassthroughFileSystem -> FuseServerImpl -> VhostUserTransport, no Felix)"
                : oursLauncher().toString();
    }

    /** Fails with what to do when a daemon is missing. */
    void requireDaemons() {
        if (!Files.isExecutable(peer)) {
            throw new IllegalStateException("Rust virtiofsd 1.13 (the peer) is not installed at " + peer
                    + ": run scripts/peer/install-virtiofsd.sh as root (benchmark/run.sh does)");
        }
        if (oursKind.equals("launcher") && !Files.isExecutable(oursLauncher())) {
            throw new IllegalStateException("our distribution is not built (" + oursLauncher()
                    + "): run mvn -q -DskipTests install (benchmark/run.sh does)");
        }
    }
}
