package dev.virtiofsd.it.framework;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.launcher.DaemonEvents;
import dev.virtiofsd.launcher.FelixLauncher;
import dev.virtiofsd.launcher.Main;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;

/**
 * Boots Felix from the distribution's bundles/ exactly as the launcher does, and checks from
 * inside: every bundle active, the native calls working through the native bundle's classes,
 * and the services of the daemon wired together once configured.
 */
class FrameworkIT {
    static final Path DIST = Paths.get(System.getProperty("virtiofsd.dist", "target/virtiofsd-java"));

    static final String STRATEGY = "dev.virtiofsd.api.identity.InodeIdentityStrategy";
    static final String FILE_SYSTEM = "dev.virtiofsd.api.fs.FileSystem";
    static final String INODE_STATS = "dev.virtiofsd.api.introspect.InodeStats";
    static final String FUSE_SERVER = "dev.virtiofsd.api.transport.FuseServer";
    static final String TRANSPORT = "dev.virtiofsd.api.transport.Transport";

    static DaemonEvents events;
    static FelixLauncher launcher;

    @BeforeAll
    static void boot() throws Exception {
        events = new DaemonEvents();
        launcher = new FelixLauncher(List.of(DIST.resolve("bundles")), Map.of(), events);
        launcher.start();
    }

    @AfterAll
    static void shutdown() {
        if (launcher != null) {
            launcher.close();
        }
    }

    @Test
    void everyBundleOfTheDistributionIsResolvedAndActive() throws IOException {
        List<String> jars;
        try (Stream<Path> s = Files.list(DIST.resolve("bundles"))) {
            jars = s.filter(p -> p.toString().endsWith(".jar"))
                    .map(Path::toString)
                    .collect(Collectors.toList());
        }
        assertEquals(jars.size(), launcher.bundles().size());
        List<String> notActive = new ArrayList<>();
        for (Bundle b : launcher.bundles()) {
            if (b.getState() != Bundle.ACTIVE) {
                notActive.add(b.getSymbolicName() + " state " + b.getState());
            }
        }
        assertEquals(List.of(), notActive);
        TreeSet<String> names =
                launcher.bundles().stream().map(Bundle::getSymbolicName).collect(Collectors.toCollection(TreeSet::new));
        for (String expected : List.of(
                "dev.virtiofsd.api",
                "dev.virtiofsd.native",
                "dev.virtiofsd.strategy.fd",
                "dev.virtiofsd.transport.fusedev",
                "org.apache.felix.scr",
                "org.apache.felix.configadmin")) {
            assertTrue(names.contains(expected), expected + " not among " + names);
        }
        assertNotNull(launcher.awaitService(FelixLauncher.DAEMON_CONTROL, null, 0));
    }

    private static Object probe(String method, Object... args) throws Exception {
        Bundle nativeBundle = launcher.bundle("dev.virtiofsd.native");
        Class<?> probe =
                new BundleDelegatingLoader(nativeBundle, NativeProbe.class).loadClass(NativeProbe.class.getName());
        Method m = Arrays.stream(probe.getMethods())
                .filter(x -> x.getName().equals(method))
                .findFirst()
                .orElseThrow();
        try {
            return m.invoke(null, args);
        } catch (InvocationTargetException e) {
            throw (Exception) e.getCause();
        }
    }

    @Test
    void probeRunsAgainstTheNativeBundlesClasses() throws Exception {
        Bundle nativeBundle = launcher.bundle("dev.virtiofsd.native");
        ClassLoader bundleLoader =
                nativeBundle.loadClass("dev.virtiofsd.linux.Linux").getClassLoader();
        assertSame(bundleLoader, probe("linuxLoader"));
        assertNotEquals(getClass().getClassLoader(), bundleLoader);
    }

    @Test
    void fileHandleRoundTripFindsTheSameInode(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("f"), "x");
        long[] r = (long[]) probe("handleRoundTrip", dir.toString(), file.toString());
        long ino = (Long) Files.getAttribute(file, "unix:ino");
        assertEquals(ino, r[0]);
        assertEquals(ino, r[1], "open_by_handle_at opened another inode");
        assertNotEquals(0, r[2], "statx gave no mnt_id");
    }

    @Test
    void scmRightsPassesAnFdOverASocketpair(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("passed"), "read through a passed fd");
        assertEquals("fd!|read through a passed fd", probe("scmRights", file.toString()));
    }

    @Test
    void eventfdCountersAddUp() throws Exception {
        assertEquals(42L, probe("eventfd"));
    }

    @Test
    void twoMappingsOfOneMemfdShareMemory() throws Exception {
        assertEquals("shared through memfd", probe("memfdMmap", "shared through memfd"));
    }

    private static ServiceReference<?> await(String objectClass, String filter) {
        ServiceReference<?> ref = launcher.awaitService(objectClass, filter, 15_000);
        assertNotNull(
                ref,
                () -> objectClass + (filter == null ? "" : " " + filter) + " not registered; " + launcher.diagnose());
        return ref;
    }

    private static Object call(ServiceReference<?> ref, String iface, String method) throws Exception {
        Object service = launcher.context().getService(ref);
        try {
            return launcher.bundle(FelixLauncher.API_BUNDLE)
                    .loadClass(iface)
                    .getMethod(method)
                    .invoke(service);
        } finally {
            launcher.context().ungetService(ref);
        }
    }

    private static boolean usedBy(ServiceReference<?> ref, String symbolicName) {
        Bundle[] users = ref.getUsingBundles();
        return users != null && Arrays.stream(users).anyMatch(b -> symbolicName.equals(b.getSymbolicName()));
    }

    private static boolean mounted(Path mountpoint) throws IOException {
        return Files.readAllLines(Paths.get("/proc/self/mountinfo")).stream()
                .anyMatch(l -> l.split(" ", -1)[4].equals(mountpoint.toString()));
    }

    @Test
    void configuredServicesAreWiredTogether(@TempDir Path tmp) throws Exception {
        for (String name : List.of("fd", "handle-preferred", "handle-only")) {
            ServiceReference<?> s = await(STRATEGY, "(inode.identity=" + name + ")");
            assertEquals(name, call(s, STRATEGY, "name"));
        }
        Path shared = Files.createDirectory(tmp.resolve("shared"));
        Path mountpoint = Files.createDirectory(tmp.resolve("mnt"));
        Files.writeString(shared.resolve("hello.txt"), "hello from the host", StandardCharsets.UTF_8);

        launcher.configure(
                Main.PID_PASSTHROUGH,
                Map.of(
                        "shared.dir",
                        shared.toString(),
                        "cache",
                        "auto",
                        "xattr",
                        true,
                        "readonly",
                        false,
                        "announce.submounts",
                        true,
                        "strategy.target",
                        "(inode.identity=fd)"));
        launcher.configure(Main.PID_FUSE_DEV, Map.of("mountpoint", mountpoint.toString(), "threads", 2));
        try {
            ServiceReference<?> fs = await(FILE_SYSTEM, null);
            ServiceReference<?> stats = await(INODE_STATS, null);
            ServiceReference<?> server = await(FUSE_SERVER, null);
            ServiceReference<?> transport = await(TRANSPORT, "(virtiofsd.transport=fuse-dev)");
            assertEquals("fuse-dev", call(transport, TRANSPORT, "name"));
            assertEquals("fd", call(stats, INODE_STATS, "strategy"));
            assertTrue(
                    usedBy(fs, "dev.virtiofsd.fuse-dispatch") || usedBy(fs, "fuse-dispatch"),
                    "FileSystem not used by fuse-dispatch");
            assertTrue(usedBy(server, "dev.virtiofsd.transport.fusedev"), "FuseServer not used by the transport");
            assertTrue(
                    usedBy(await(STRATEGY, "(inode.identity=fd)"), "dev.virtiofsd.passthrough"),
                    "fd strategy not used by the passthrough");
            assertTrue(events.awaitReadyOrStop(15, java.util.concurrent.TimeUnit.SECONDS));
            assertNotNull(events.readyWhat(), "transport did not call DaemonControl.ready");
            assertTrue(mounted(mountpoint), "not in /proc/self/mountinfo");
            assertEquals("hello from the host", Files.readString(mountpoint.resolve("hello.txt")));
            assertArrayEquals(new String[] {"hello.txt"}, mountpoint.toFile().list());
        } finally {
            launcher.deleteConfiguration(Main.PID_FUSE_DEV);
            launcher.deleteConfiguration(Main.PID_PASSTHROUGH);
        }
        long deadline = System.currentTimeMillis() + 10_000;
        while (mounted(mountpoint) && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(!mounted(mountpoint), "still mounted after the configuration went away");
        while (launcher.awaitService(TRANSPORT, null, 0) != null && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        assertNull(launcher.awaitService(TRANSPORT, null, 0), "Transport still registered");
    }
}
