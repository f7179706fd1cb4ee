package dev.virtiofsd.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.fs.FileSystem;
import dev.virtiofsd.fuse.internal.FuseServerImpl;
import dev.virtiofsd.passthrough.internal.PassthroughFileSystem;
import dev.virtiofsd.passthrough.internal.PassthroughOptions;
import dev.virtiofsd.strategy.fd.internal.FdStrategy;
import dev.virtiofsd.strategy.handle.internal.HandlePreferredStrategy;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The warm-up (FuseServer.idle, -Dvirtiofsd.warmup.rounds) against the real passthrough: it runs
 * its requests, leaves the share exactly as it was (names, sizes, times of the root and of what is
 * in it), keeps no inode, open file or fd, names nothing but children of its own unnamed file, and
 * stops when a session opens.
 */
class WarmUpTest {
    @TempDir
    Path dir;

    private PassthroughFileSystem fs;
    private final List<String> calls = Collections.synchronizedList(new ArrayList<>());
    private final Set<Long> tmpfiles = Collections.synchronizedSet(new TreeSet<>());

    @AfterEach
    void tearDown() {
        System.clearProperty("virtiofsd.warmup.rounds");
        if (fs != null) {
            fs.close();
        }
    }

    private Path share() throws IOException {
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(shared.resolve("warm-up"), "a file named as the warm-up's name");
        Files.createDirectory(shared.resolve("sub"));
        Files.writeString(shared.resolve("sub/f"), "x");
        return shared;
    }

    /** The filesystem as the server sees it: every call recorded, with the node it names. */
    private FileSystem recording(FileSystem real) {
        return (FileSystem) Proxy.newProxyInstance(
                FileSystem.class.getClassLoader(), new Class<?>[] {FileSystem.class}, (p, m, args) -> {
                    String name = m.getName();
                    if (name.equals("lookup") || name.equals("create") || name.equals("unlink")) {
                        // the parent must be one of the warm-up's unnamed files: ENOTDIR, no name looked at
                        calls.add(name
                                + (tmpfiles.contains((Long) args[1]) ? " under-tmpfile" : " ELSEWHERE " + args[1]));
                    } else if (!name.equals("hashCode") && !name.equals("equals") && !name.equals("toString")) {
                        calls.add(name);
                    }
                    try {
                        Object r = m.invoke(real, args);
                        if (name.equals("tmpfile")) {
                            tmpfiles.add(((dev.virtiofsd.api.fs.EntryOut) args[5]).nodeId);
                        }
                        return r;
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    /** Name -> size, mtime, ctime, atime of everything in the tree, and of the root itself. */
    private static Map<String, String> snapshot(Path root) throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.toList()) {
                PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                m.put(
                        root.relativize(p).toString(),
                        a.size() + " " + a.lastModifiedTime() + " " + Files.getAttribute(p, "unix:ctime") + " "
                                + a.lastAccessTime() + " " + a.permissions());
            }
        }
        return m;
    }

    /** Targets of this process's fds that lead into {@code root} (the warm-up's unnamed files too). */
    private static Set<String> fdsInto(Path root) throws IOException {
        Set<String> out = new TreeSet<>();
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : s.toList()) {
                try {
                    String t = Files.readSymbolicLink(fd).toString();
                    if (t.startsWith(root.toString())) {
                        out.add(fd.getFileName() + " -> " + t);
                    }
                } catch (IOException gone) {
                    // closed meanwhile (the listing's own fd)
                }
            }
        }
        return out;
    }

    private static Thread warmUpThread() {
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals("fuse-warm-up")) {
                return t;
            }
        }
        return null;
    }

    private void runsAndLeavesNoTrace(PassthroughFileSystem passthrough, Path shared) throws Exception {
        fs = passthrough;
        Map<String, String> before = snapshot(shared);
        Set<String> fdsBefore = fdsInto(shared);
        FuseServerImpl server = new FuseServerImpl(recording(fs));
        System.setProperty("virtiofsd.warmup.rounds", "40");
        server.idle();
        Thread t = warmUpThread(); // null if it is done already
        if (t != null) {
            t.join(TimeUnit.MINUTES.toMillis(2));
            assertFalse(t.isAlive(), "warm-up still running");
        }

        assertEquals(
                40, tmpfiles.size(), "one unnamed file per round: " + calls.subList(0, Math.min(40, calls.size())));
        for (String op : List.of("write", "read", "open", "flush", "release", "getattr", "forget")) {
            assertTrue(calls.contains(op), op + " never called: " + new TreeSet<>(calls));
        }
        assertTrue(calls.contains("lookup under-tmpfile") && calls.contains("create under-tmpfile"), calls.toString());
        assertTrue(calls.stream().noneMatch(c -> c.contains("ELSEWHERE")), "a name looked at: " + calls);
        assertFalse(
                calls.contains("init") || calls.contains("initFlags") || calls.contains("destroy"), calls.toString());

        assertEquals(before, snapshot(shared), "the share changed");
        assertEquals(fdsBefore, fdsInto(shared), "fds left open into the share");
        assertEquals(1, fs.inodes(), "inodes left besides the root");
        assertEquals(0, fs.openFiles(), "open files left");
        assertTrue(server.byOpcode().isEmpty(), "warm-up requests counted as a client's: " + server.byOpcode());
    }

    @Test
    void fdStrategyWarmUpLeavesTheShareAsItWas() throws Exception {
        Path shared = share();
        runsAndLeavesNoTrace(new PassthroughFileSystem(PassthroughOptions.of(shared), new FdStrategy()), shared);
    }

    @Test
    void handleStrategyWarmUpLeavesTheShareAsItWas() throws Exception {
        Path shared = share();
        runsAndLeavesNoTrace(
                new PassthroughFileSystem(PassthroughOptions.of(shared), new HandlePreferredStrategy()), shared);
    }

    @Test
    void theFirstSessionStopsItAndItCleansUp() throws Exception {
        Path shared = share();
        fs = new PassthroughFileSystem(PassthroughOptions.of(shared), new FdStrategy());
        Map<String, String> before = snapshot(shared);
        FuseServerImpl server = new FuseServerImpl(recording(fs));
        System.setProperty("virtiofsd.warmup.rounds", Integer.toString(Integer.MAX_VALUE));
        server.idle();
        Thread t = warmUpThread();
        assertTrue(t != null, "no warm-up thread (with rounds without end)");
        while (tmpfiles.isEmpty() && t.isAlive()) {
            Thread.sleep(1);
        }
        assertTrue(t.isAlive(), "ended by itself: " + calls.subList(0, Math.min(20, calls.size())));
        // not closed: closing would make the filesystem drop every inode, the warm-up's too
        server.openSession(128 * 1024);
        t.join(TimeUnit.MINUTES.toMillis(2));
        assertFalse(t.isAlive(), "warm-up not stopped by the session");
        assertEquals(before, snapshot(shared), "the share changed");
        assertEquals(1, fs.inodes(), "inodes left besides the root");
        assertEquals(0, fs.openFiles(), "open files left");
        // a second idle (another transport) after a session does not start one again
        server.idle();
        Thread again = warmUpThread();
        assertTrue(again == null || !again.isAlive(), "started again after a session");
    }

    @Test
    void offUnlessAsked() throws Exception {
        Path shared = share();
        fs = new PassthroughFileSystem(PassthroughOptions.of(shared), new FdStrategy());
        System.setProperty("virtiofsd.warmup.rounds", "0");
        new FuseServerImpl(recording(fs)).idle();
        Thread t = warmUpThread();
        assertTrue(t == null || !t.isAlive(), "a warm-up with 0 rounds");
        assertTrue(calls.isEmpty(), calls.toString());
    }
}
