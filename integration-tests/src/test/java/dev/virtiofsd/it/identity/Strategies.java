package dev.virtiofsd.it.identity;

import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.strategy.fd.internal.FdStrategy;
import dev.virtiofsd.strategy.handle.internal.HandleOnlyStrategy;
import dev.virtiofsd.strategy.handle.internal.HandlePreferredStrategy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Shared bits of the identity tests: strategies by name, host commands, fd counting. */
final class Strategies {
    /** Logger of the handle strategies' per-share state (its once-per-mount warnings). */
    static final String HANDLE_LOGGER = "dev.virtiofsd.strategy.handle.internal.HandleIdentityProvider";

    private Strategies() {}

    static InodeIdentityStrategy byName(String name) {
        switch (name) {
            case FdStrategy.NAME:
                return new FdStrategy();
            case HandlePreferredStrategy.NAME:
                return new HandlePreferredStrategy();
            case HandleOnlyStrategy.NAME:
                return new HandleOnlyStrategy();
            case IdsOnlyStrategy.NAME:
                return new IdsOnlyStrategy();
            default:
                throw new IllegalArgumentException(name);
        }
    }

    /** Runs a host command (mkfs, mount, umount); fails with its output unless it exits 0. */
    static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + ": timed out");
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + ": exit " + p.exitValue() + ": " + out.trim());
        }
    }

    /** Best-effort unmount (lazy if busy), for cleanup. */
    static void umountQuietly(Path mountpoint) {
        try {
            run("umount", mountpoint.toString());
        } catch (IOException | InterruptedException e) {
            try {
                run("umount", "-l", mountpoint.toString());
            } catch (IOException | InterruptedException ignored) {
                // nothing mounted there
            }
        }
    }

    static long openFds() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            List<Path> all = s.sorted(Comparator.reverseOrder()).toList();
            for (Path p : all) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // leave it to the temp cleaner
        }
    }
}
