package dev.virtiofsd.it.guest;

import dev.virtiofsd.frontend.guest.Scripts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Where the guest test finds its parts. Every location can be set by a system property
 * (the distribution pom passes them); the defaults work when run from the distribution
 * module directory or the repository root.
 *
 * <ul>
 * <li>{@code virtiofsd.distribution} (or {@code virtiofsd.dist}): the assembled layout (holds bin/virtiofsd-java),
 *     default {@code target/virtiofsd-java}.</li>
 * <li>{@code virtiofsd.scripts}: the repository's scripts/ folder.</li>
 * <li>{@code virtiofsd.peer}: Rust virtiofsd wrapper, default /opt/virtiofsd-peer/virtiofsd
 *     (installed by scripts/peer/install-virtiofsd.sh when missing).</li>
 * <li>{@code guest.daemon}: {@code ours} (default) or {@code peer}: which daemon the ITs run.</li>
 * <li>{@code guest.work.dir}: logs and shared dirs, default target/guest-it.</li>
 * <li>{@code guest.timeout.seconds}: hard limit per QEMU run, default 420.</li>
 * <li>{@code guest.idle.seconds}: QEMU is killed when the console stays silent this long, default 180.</li>
 * </ul>
 */
public final class GuestEnvironment {
    private static Path kernelDir;
    private static Path peer;

    private GuestEnvironment() {}

    static Path userDir() {
        return Paths.get(System.getProperty("user.dir")).toAbsolutePath();
    }

    /** The scripts/ folder of the repository. */
    public static Path scriptsDir() {
        String p = System.getProperty("virtiofsd.scripts");
        if (p != null && !p.isBlank()) return Paths.get(p).toAbsolutePath();
        for (Path d = userDir(); d != null; d = d.getParent()) {
            Path candidate = d.resolve("scripts");
            if (Files.isRegularFile(candidate.resolve("guest/fetch-kernel.sh"))) return candidate;
        }
        throw new IllegalStateException(
                "scripts/guest/fetch-kernel.sh not found above " + userDir() + "; set -Dvirtiofsd.scripts");
    }

    /** The assembled distribution layout (may not exist). */
    public static Path distributionHome() {
        for (String key : new String[] {"virtiofsd.distribution", "virtiofsd.dist"}) {
            String p = System.getProperty(key);
            if (p != null && !p.isBlank()) return Paths.get(p).toAbsolutePath();
        }
        Path inModule = userDir().resolve("target/virtiofsd-java");
        if (Files.isDirectory(inModule)) return inModule;
        Path fromRoot = userDir().resolve("distribution/target/virtiofsd-java");
        if (Files.isDirectory(fromRoot)) return fromRoot;
        return inModule;
    }

    public static Path ourLauncher() {
        return distributionHome().resolve("bin/virtiofsd-java");
    }

    public static boolean usePeer() {
        return "peer".equals(System.getProperty("guest.daemon", "ours"));
    }

    public static Path workRoot() throws IOException {
        String p = System.getProperty("guest.work.dir");
        Path root = p != null && !p.isBlank() ? Paths.get(p) : userDir().resolve("target/guest-it");
        Files.createDirectories(root);
        return root.toAbsolutePath();
    }

    public static long timeoutSeconds() {
        return Long.getLong("guest.timeout.seconds", 420);
    }

    public static long idleSeconds() {
        return Long.getLong("guest.idle.seconds", 180);
    }

    /** Kernel layout from scripts/guest/fetch-kernel.sh (downloads once, then cached on disk). */
    public static synchronized Path kernelDir() throws IOException, InterruptedException {
        if (kernelDir == null) {
            kernelDir = Paths.get(runScript(scriptsDir().resolve("guest/fetch-kernel.sh"), 600));
        }
        return kernelDir;
    }

    /** Rust virtiofsd 1.13 wrapper; installs it with scripts/peer/install-virtiofsd.sh if missing. */
    public static synchronized Path peerBinary() throws IOException, InterruptedException {
        if (peer == null) {
            String p = System.getProperty("virtiofsd.peer");
            Path candidate = Paths.get(p != null && !p.isBlank() ? p : "/opt/virtiofsd-peer/virtiofsd");
            if (!Files.isExecutable(candidate)) {
                candidate = Paths.get(runScript(scriptsDir().resolve("peer/install-virtiofsd.sh"), 600));
            }
            peer = candidate;
        }
        return peer;
    }

    /** See {@link Scripts#lastLine}. */
    static String runScript(Path script, long timeoutSeconds) throws IOException, InterruptedException {
        return Scripts.lastLine(script, timeoutSeconds);
    }
}
