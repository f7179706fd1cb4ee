package dev.virtiofsd.it.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.virtiofsd.frontend.Fuse;
import dev.virtiofsd.frontend.FuseReply;
import dev.virtiofsd.frontend.VhostUserFrontend;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sandbox of bin/virtiofsd-java as a process, looked at from outside through /proc, and
 * attacked from inside by a test-only bundle (dev.virtiofsd.it.evil) whose inode strategy opens an
 * absolute host path, execs and opens a TCP socket. Each attack also runs without the sandbox, where
 * it must succeed: the tests can fail.
 */
class SandboxIT {
    static final Path BIN = DaemonProcessIT.BIN;
    /** virtiofsd 1.13's capabilities as root: chown dac_override fowner fsetid setgid setuid mknod setfcap. */
    static final long VIRTIOFSD_CAPS = 0x880000dbL;

    static final int SIGSYS = 31;
    static final int ENOENT = 2;
    static final int EACCES = 13;
    static final int ENETUNREACH = 101;

    @TempDir
    Path tmp;

    Path shared;
    Path secret;
    Process daemon;
    Path log;
    VhostUserFrontend frontend;

    @BeforeEach
    void files() throws IOException {
        shared = Files.createDirectory(tmp.resolve("shared"));
        Files.writeString(shared.resolve("hello"), "in the share\n");
        // A host file beside the share: the daemon must not see it.
        secret = Files.writeString(tmp.resolve("secret"), "host secret\n");
    }

    @AfterEach
    void stop() throws Exception {
        if (frontend != null) {
            frontend.close();
            frontend = null;
        }
        if (daemon != null && daemon.isAlive()) {
            daemon.destroy();
            if (!daemon.waitFor(20, TimeUnit.SECONDS)) {
                daemon.destroyForcibly();
            }
        }
        daemon = null;
    }

    // ---- the daemon as a process ----------------------------------------------------------------

    Path socket() {
        return tmp.resolve("vhost.sock");
    }

    /** Starts bin/virtiofsd-java on the share and socket with {@code args}; waits until it serves. */
    Process start(Map<String, String> env, String... args) throws Exception {
        Process p = launch(env, args);
        await(p, "serving ");
        return p;
    }

    Process launch(Map<String, String> env, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(
                List.of(BIN.toString(), "--shared-dir", shared.toString(), "--socket-path", socket().toString()));
        cmd.addAll(Arrays.asList(args));
        log = tmp.resolve("daemon.log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        daemon = pb.start();
        return daemon;
    }

    void await(Process p, String logText) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(log).contains(logText)) {
            if (!p.isAlive()) {
                fail("daemon exited with " + p.exitValue() + " before '" + logText + "': " + Files.readString(log));
            }
            if (System.nanoTime() > deadline) {
                fail("no '" + logText + "' within 60 s: " + Files.readString(log));
            }
            Thread.sleep(20);
        }
    }

    int exitStatus(Process p) throws Exception {
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "daemon still running: " + Files.readString(log));
        return p.exitValue();
    }

    VhostUserFrontend connect() throws Exception {
        frontend = VhostUserFrontend.connect(socket().toString());
        assertEquals(0, frontend.init().error(), "INIT");
        return frontend;
    }

    /** LOOKUP + OPEN + READ of a regular file of the share: the daemon serves. */
    String read(String name) throws Exception {
        FuseReply e = frontend.lookup(Fuse.ROOT, name);
        assertEquals(0, e.error(), "LOOKUP " + name);
        FuseReply o = frontend.open(e.nodeId(), 0);
        assertEquals(0, o.error(), "OPEN " + name);
        FuseReply r = frontend.read(e.nodeId(), o.fh(), 0, 4096);
        assertEquals(0, r.error(), "READ " + name);
        return new String(r.data(), StandardCharsets.UTF_8);
    }

    // ---- what /proc says ------------------------------------------------------------------------

    static Map<String, String> status(long pid) throws IOException {
        Map<String, String> m = new TreeMap<>();
        for (String line : Files.readAllLines(Paths.get("/proc/" + pid + "/status"))) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                m.put(line.substring(0, colon), line.substring(colon + 1).trim());
            }
        }
        return m;
    }

    static long caps(Map<String, String> status, String set) {
        return Long.parseUnsignedLong(status.get(set), 16);
    }

    static String ns(Object pid, String kind) throws IOException {
        return Files.readSymbolicLink(Paths.get("/proc/" + pid + "/ns/" + kind)).toString();
    }

    static List<String> rootListing(long pid) throws IOException {
        try (Stream<Path> s = Files.list(Paths.get("/proc/" + pid + "/root"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    static String openFilesLimit(long pid) throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/" + pid + "/limits"))) {
            if (line.startsWith("Max open files")) {
                String[] f = line.substring("Max open files".length()).trim().split("\\s+", -1);
                return f[0] + "/" + f[1];
            }
        }
        throw new IOException("no open files limit");
    }

    /** What the default --rlimit-nofile gives here: min(1e6, nr_open) with CAP_SYS_RESOURCE, else the hard limit. */
    static String defaultOpenFilesLimit() throws IOException {
        long nrOpen = Long.parseLong(
                Files.readString(Paths.get("/proc/sys/fs/nr_open")).trim());
        String[] self = openFilesLimit(ProcessHandle.current().pid()).split("/", -1);
        boolean sysResource = (caps(status(ProcessHandle.current().pid()), "CapEff") & (1L << 24)) != 0;
        if (sysResource) {
            long n = Math.min(1_000_000, nrOpen);
            return n + "/" + n;
        }
        return self[1] + "/" + self[1];
    }

    // ---- the tests ------------------------------------------------------------------------------

    @Test
    void byDefaultTheDaemonIsConfinedAsVirtiofsdAndServes() throws Exception {
        Process p = start(Map.of());
        long pid = p.pid();
        for (String kind : new String[] {"mnt", "net", "ipc"}) {
            assertNotEquals(ns("self", kind), ns(pid, kind), kind + " namespace");
        }
        assertEquals(ns("self", "user"), ns(pid, "user"), "stays in the host's user namespace (as root)");
        assertEquals(List.of("hello"), rootListing(pid), "its root is the shared directory");
        assertFalse(Files.exists(Paths.get("/proc/" + pid + "/root" + secret)), "the file beside the share");
        assertFalse(Files.exists(Paths.get("/proc/" + pid + "/root/etc/passwd")));
        Map<String, String> st = status(pid);
        assertEquals("2", st.get("Seccomp"), "seccomp filter mode");
        assertEquals("1", st.get("NoNewPrivs"));
        assertEquals(VIRTIOFSD_CAPS, caps(st, "CapEff"), "CapEff " + st.get("CapEff"));
        assertEquals(VIRTIOFSD_CAPS, caps(st, "CapPrm"));
        assertEquals(VIRTIOFSD_CAPS, caps(st, "CapBnd"));
        assertEquals(0, caps(st, "CapInh"));
        assertEquals(0, caps(st, "CapAmb"));
        assertEquals(defaultOpenFilesLimit(), openFilesLimit(pid));
        String text = Files.readString(log);
        assertTrue(
                text.contains("sandbox root " + shared.toRealPath() + " in new mount, net and ipc namespaces;"
                        + " seccomp kill; capabilities chown,dac_override,fowner,fsetid,setgid,setuid,mknod,setfcap"),
                text);
        assertTrue(text.matches("(?s).*bundle dev\\.virtiofsd\\.native \\S+ sha256:[0-9a-f]{64} .*"), text);

        connect();
        assertEquals("in the share\n", read("hello"));
        p.destroy();
        assertEquals(0, exitStatus(p), Files.readString(log));
    }

    @Test
    void chrootModeHasTheShareAsRootWithoutNamespaces() throws Exception {
        Process p = start(Map.of(), "--sandbox", "chroot");
        long pid = p.pid();
        assertEquals(shared.toRealPath(), Files.readSymbolicLink(Paths.get("/proc/" + pid + "/root")));
        assertEquals(ns("self", "mnt"), ns(pid, "mnt"), "virtiofsd's chroot mode takes no namespace");
        Map<String, String> st = status(pid);
        assertEquals("2", st.get("Seccomp"));
        assertEquals(VIRTIOFSD_CAPS | 1L << 18, caps(st, "CapEff"), "+sys_chroot: " + st.get("CapEff"));
        connect();
        assertEquals("in the share\n", read("hello"));
    }

    @Test
    void modcapsAndRlimitNofileAsVirtiofsd() throws Exception {
        Process p =
                start(Map.of(), "--modcaps=+sys_nice:-mknod", "--rlimit-nofile", "4096", "--inode-file-handles=prefer");
        Map<String, String> st = status(p.pid());
        // file handles add dac_read_search (open_by_handle_at), as virtiofsd does
        assertEquals(
                (VIRTIOFSD_CAPS | 1L << 23 | 1L << 2) & ~(1L << 27), caps(st, "CapEff"), "CapEff " + st.get("CapEff"));
        assertEquals("4096/4096", openFilesLimit(p.pid()));
        connect();
        assertEquals("in the share\n", read("hello"));
    }

    @Test
    void unprivilegedTheNamespaceSandboxStartsWithAUserNamespace() throws Exception {
        // nobody needs a path it can reach: a 0755 directory in /tmp (TempDir is 0700)
        Path base = Files.createTempDirectory(Paths.get("/tmp"), "vfsd-nobody-");
        try {
            Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path share = Files.createDirectory(base.resolve("shared"));
            Files.setPosixFilePermissions(share, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(
                    Files.writeString(share.resolve("hello"), "in the share\n"),
                    PosixFilePermissions.fromString("rw-r--r--"));
            Path sockDir = Files.createDirectory(base.resolve("run"));
            Files.setOwner(
                    sockDir,
                    sockDir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody"));
            Path sock = sockDir.resolve("vhost.sock");
            log = tmp.resolve("nobody.log");
            ProcessBuilder pb = new ProcessBuilder(
                            "setpriv",
                            "--reuid=nobody",
                            "--regid=nogroup",
                            "--clear-groups",
                            "--",
                            BIN.toString(),
                            "--shared-dir",
                            share.toString(),
                            "--socket-path",
                            sock.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            pb.environment().put("HOME", "/nonexistent");
            daemon = pb.start();
            await(daemon, "serving ");
            long pid = daemon.pid();
            for (String kind : new String[] {"user", "mnt", "net", "ipc"}) {
                assertNotEquals(ns("self", kind), ns(pid, kind), kind + " namespace");
            }
            Map<String, String> st = status(pid);
            assertTrue(st.get("Uid").startsWith("65534"), st.get("Uid"));
            assertEquals("2", st.get("Seccomp"));
            assertEquals("1", st.get("NoNewPrivs"));
            assertEquals(List.of("hello"), rootListing(pid));
            frontend = VhostUserFrontend.connect(sock.toString());
            assertEquals(0, frontend.init().error());
            assertEquals("in the share\n", read("hello"));
            stop();

            // chroot is for root only, as virtiofsd says
            Process p = new ProcessBuilder(
                            "setpriv",
                            "--reuid=nobody",
                            "--regid=nogroup",
                            "--clear-groups",
                            "--",
                            BIN.toString(),
                            "--shared-dir",
                            share.toString(),
                            "--socket-path",
                            sock.toString(),
                            "--sandbox",
                            "chroot")
                    .redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(1, p.exitValue());
            assertEquals(
                    "virtiofsd-java: cannot set up --sandbox chroot: chroot needs root (--sandbox namespace works"
                            + " unprivileged) (--sandbox none runs without it)\n",
                    out);
        } finally {
            try (Stream<Path> walk = Files.walk(base)) {
                for (Path x : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(x);
                }
            }
        }
    }

    @Test
    void withoutSandboxNothingChanges() throws Exception {
        Process p = start(Map.of(), "--sandbox", "none", "--seccomp", "none");
        long pid = p.pid();
        assertEquals(ns("self", "mnt"), ns(pid, "mnt"));
        assertEquals(Path.of("/"), Files.readSymbolicLink(Paths.get("/proc/" + pid + "/root")));
        Map<String, String> st = status(pid);
        assertEquals("0", st.get("Seccomp"));
        // virtiofsd drops capabilities as root whatever the sandbox
        assertEquals(VIRTIOFSD_CAPS, caps(st, "CapEff"));
    }

    // ---- a bundle that misbehaves ---------------------------------------------------------------

    /** The evil bundle as a jar in its own directory (owner root, 0755/0644: StrictModes accept it). */
    Path evilBundles() throws IOException {
        Path dir = tmp.resolve("bundles");
        if (Files.isDirectory(dir)) {
            return dir;
        }
        Files.createDirectory(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", "dev.virtiofsd.it.evil");
        a.putValue("Bundle-Version", "1.0.0");
        a.putValue("Bundle-Activator", "dev.virtiofsd.it.evil.EvilActivator");
        a.putValue(
                "Import-Package",
                "dev.virtiofsd.api,dev.virtiofsd.api.identity,dev.virtiofsd.linux,dev.virtiofsd.strategy.fd,"
                        + "jnr.posix,org.osgi.framework");
        Path classes = Paths.get("target/test-classes/dev/virtiofsd/it/evil");
        Path jar = dir.resolve("evil.jar");
        try (OutputStream out = Files.newOutputStream(jar);
                JarOutputStream j = new JarOutputStream(out, m);
                Stream<Path> files = Files.list(classes)) {
            for (Path c : files.toList()) {
                j.putNextEntry(new JarEntry("dev/virtiofsd/it/evil/" + c.getFileName()));
                j.write(Files.readAllBytes(c));
                j.closeEntry();
            }
        }
        Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("rw-r--r--"));
        return dir;
    }

    Process startEvil(Map<String, String> env, String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("--bundles", evilBundles().toString(), "--strategy", "evil"));
        all.addAll(Arrays.asList(args));
        Process p = start(env, all.toArray(String[]::new));
        assertTrue(
                Files.readString(log).contains("bundle dev.virtiofsd.it.evil 1.0.0 sha256:"),
                "the third-party bundle is named in the log");
        connect();
        return p;
    }

    /** LOOKUP of a trigger file the evil strategy reacts to. */
    FuseReply trigger(String name) throws Exception {
        Files.writeString(shared.resolve(name), "trigger\n");
        return frontend.lookup(Fuse.ROOT, name);
    }

    @Test
    void aStrategyThatOpensAHostPathCannotReachIt() throws Exception {
        Map<String, String> env = Map.of("EVIL_TARGET", secret.toString());
        startEvil(env);
        assertEquals(-EACCES, trigger("escape").error(), "seccomp refuses paths from the root");
        assertEquals("in the share\n", read("hello"), "and the daemon goes on serving");
        stop();

        startEvil(env, "--seccomp", "none");
        assertEquals(-ENOENT, trigger("escape").error(), "the mount namespace alone: no such path in the share");
        stop();

        // The same bug without a sandbox: the guest reads the host file.
        startEvil(env, "--sandbox", "none", "--seccomp", "none");
        assertEquals("host secret\n", read("escape"), "without the sandbox the bug reaches the host");
        assertEquals("host secret\n", Files.readString(secret));
    }

    @Test
    void execIsKilledBySeccomp() throws Exception {
        Path marker = tmp.resolve("executed");
        Map<String, String> env = Map.of("EVIL_MARKER", marker.toString());
        Process p = startEvil(env);
        triggerAndForget("exec-now");
        assertEquals(128 + SIGSYS, exitStatus(p), "killed by SIGSYS: " + Files.readString(log));
        assertFalse(Files.exists(marker));
        stop();

        p = startEvil(env, "--sandbox", "none", "--seccomp", "none");
        triggerAndForget("exec-now");
        assertEquals(0, exitStatus(p), "the daemon became /bin/sh");
        assertEquals("exec\n", Files.readString(marker));
    }

    @Test
    void newNetworkSocketsAreRefused() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(3000);
            Map<String, String> env = Map.of("EVIL_PORT", Integer.toString(server.getLocalPort()));
            Process p = startEvil(env);
            triggerAndForget("socket-now");
            assertEquals(128 + SIGSYS, exitStatus(p), "killed by SIGSYS: " + Files.readString(log));
            assertNoConnection(server);
            stop();

            startEvil(env, "--seccomp", "none");
            assertEquals(-ENETUNREACH, trigger("socket-now").error(), "its own network namespace has no route");
            assertNoConnection(server);
            stop();

            startEvil(env, "--sandbox", "none", "--seccomp", "none");
            assertEquals(0, trigger("socket-now").error());
            try (Socket s = server.accept()) {
                assertEquals('x', s.getInputStream().read(), "without the sandbox the daemon connects");
            }
        }
    }

    private static void assertNoConnection(ServerSocket server) throws IOException {
        try (Socket s = server.accept()) {
            fail("the daemon connected from " + s.getRemoteSocketAddress());
        } catch (SocketTimeoutException expected) {
            // nothing came
        }
    }

    /** Sends the LOOKUP without waiting for a reply (the daemon dies or execs meanwhile). */
    private void triggerAndForget(String name) throws Exception {
        Files.writeString(shared.resolve(name), "trigger\n");
        frontend.submit(1, frontend.fuse().lookup(Fuse.ROOT, name), 16 + 128);
    }

    @Test
    void aBundleKeepingAHostDirectoryOpenStopsTheStart() throws Exception {
        Process p = launch(
                Map.of("EVIL_HOLD_DIR", tmp.toString()),
                "--bundles",
                evilBundles().toString(),
                "--strategy",
                "evil");
        assertEquals(1, exitStatus(p), Files.readString(log));
        List<String> errors = Files.readAllLines(log).stream()
                .filter(l -> l.startsWith("virtiofsd-java:"))
                .toList();
        assertEquals(1, errors.size(), Files.readString(log));
        assertTrue(
                errors.get(0)
                        .matches("virtiofsd-java: cannot close the sandbox: fd \\d+ \\(" + tmp
                                + "\\) leads out of the shared directory \\(a bundle keeps a directory open;"
                                + " --sandbox none runs without the sandbox\\)"),
                errors.get(0));
    }

    @Test
    void bundlesOthersCanWriteAreRefused() throws Exception {
        Path dir = evilBundles();
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Process p = launch(Map.of(), "--bundles", dir.toString());
        assertEquals(1, exitStatus(p));
        assertEquals(
                List.of("virtiofsd-java: --bundles " + dir + ": " + dir.toRealPath() + " is writable by its group"
                        + " (mode 777)"),
                Files.readAllLines(log));

        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path jar = dir.resolve("evil.jar");
        Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("rw-r--rw-"));
        p = launch(Map.of(), "--bundles", dir.toString());
        assertEquals(1, exitStatus(p));
        assertEquals(
                List.of("virtiofsd-java: --bundles " + dir + ": " + jar.toRealPath() + " is writable by others"
                        + " (mode 646)"),
                Files.readAllLines(log));
    }

    @Test
    void fuseDevNeedsSandboxNone() throws Exception {
        Path mnt = Files.createDirectory(tmp.resolve("mnt"));
        Process p = new ProcessBuilder(
                        BIN.toString(),
                        "--transport=fuse-dev",
                        "--shared-dir",
                        shared.toString(),
                        "--mountpoint",
                        mnt.toString())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue());
        assertEquals(
                "virtiofsd-java: --transport=fuse-dev mounts on this host, which --sandbox namespace would hide"
                        + " from the daemon: add --sandbox none (--seccomp still applies)\n",
                out);
    }
}
