package dev.virtiofsd.it.guest;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Watches a daemon's open files while a guest runs ({@link GuestRun#whileServing}): for each file
 * name of interest, the union of the open flags (from /proc/PID/fdinfo) of every fd seen on it.
 * Shows what the daemon did with the guest's O_DIRECT or O_NOATIME.
 */
public final class DaemonFds {
    public static final int O_DIRECT = 040000;
    public static final int O_NOATIME = 01000000;

    private final Map<String, Integer> flags = new ConcurrentHashMap<>();
    private final Path dir;

    /** @param dir the shared directory: files under it are recorded by their path relative to it */
    public DaemonFds(Path dir) {
        this.dir = dir.toAbsolutePath();
    }

    /** Polls until the daemon exits. */
    public void watch(long pid) {
        Path fds = Paths.get("/proc/" + pid + "/fd");
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(fds)) {
                for (Path fd : s) {
                    try {
                        String relative = relative(Files.readSymbolicLink(fd));
                        if (relative == null) {
                            continue;
                        }
                        for (String line :
                                Files.readAllLines(Paths.get("/proc/" + pid + "/fdinfo/" + fd.getFileName()))) {
                            if (line.startsWith("flags:")) {
                                int f = Integer.parseInt(line.substring(6).trim(), 8);
                                flags.merge(relative, f, (a, b) -> a | b);
                            }
                        }
                    } catch (IOException | RuntimeException e) {
                        // the fd closed meanwhile
                    }
                }
            } catch (IOException e) {
                return;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * The path of an fd's target relative to the shared directory, or null if it lies elsewhere. A
     * sandboxed daemon (its own mount namespace, root = the shared directory) shows its files as
     * {@code /NAME}: the kernel prints a path the reader cannot reach relative to that mount's root.
     */
    private String relative(Path target) {
        if (target.startsWith(dir)) {
            return dir.relativize(target).toString();
        }
        if (target.isAbsolute() && target.getNameCount() > 0) {
            Path inShare = dir.resolve(target.getRoot().relativize(target).toString());
            if (Files.exists(inShare, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                return dir.relativize(inShare).toString();
            }
        }
        return null;
    }

    /** Union of the flags seen on fds of {@code relative}, or null if none was seen. */
    public Integer flags(String relative) {
        return flags.get(relative);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        flags.forEach((k, v) ->
                b.append(k).append("=0").append(Integer.toOctalString(v)).append(' '));
        return b.toString().strip();
    }
}
