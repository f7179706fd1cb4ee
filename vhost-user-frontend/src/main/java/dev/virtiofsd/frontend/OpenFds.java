package dev.virtiofsd.frontend;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

/**
 * This process's open fds as a set of "number -> what it names", for tests that prove nothing
 * leaked: take {@link #snapshot()} before, {@link #since} after. Never a count: the JVM opens and
 * closes fds of its own at any time (class loading's jars, the coverage agent's file, /proc and /dev
 * reads), and a count hides a leak behind one of those. Compared as sets, a leak is a new entry, also
 * when it reuses a number the JVM closed meanwhile; the JVM's own files are left out.
 */
public final class OpenFds {
    private static final Path PROC_SELF_FD = Path.of("/proc/self/fd");

    private OpenFds() {}

    /** The open fds now, without the JVM's own files. */
    public static Set<String> snapshot() {
        Set<String> fds = new TreeSet<>();
        try (DirectoryStream<Path> d = Files.newDirectoryStream(PROC_SELF_FD)) {
            for (Path fd : d) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (!jvmOwn(target)) {
                        fds.add(fd.getFileName() + " -> " + target);
                    }
                } catch (IOException e) {
                    // closed while listing: not the test's
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + PROC_SELF_FD, e);
        }
        return fds;
    }

    /**
     * The fds open now that were not open, or named something else, in {@code before} (a
     * {@link #snapshot()}). Fewer fds is no leak: the JVM may have closed one of its own meanwhile.
     */
    public static Set<String> since(Set<String> before) {
        Set<String> now = snapshot();
        now.removeAll(before);
        return now;
    }

    /** What an entry of {@link #snapshot()} names. */
    public static String target(String entry) {
        return entry.substring(entry.indexOf(" -> ") + 4);
    }

    /**
     * The JVM's own: jars and the JDK's files (class loading), the coverage agent's .exec file, and
     * what it reads under /proc and /dev (this listing's own directory fd among them).
     */
    private static boolean jvmOwn(String target) {
        return target.endsWith(".jar")
                || target.endsWith(".exec")
                || target.startsWith("/proc/")
                || target.startsWith("/dev/")
                || target.startsWith("/usr/lib/jvm/");
    }
}
