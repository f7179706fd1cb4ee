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
            ProcessBuilder pb = new ProcessBuilder(asUser("nobody", "nogroup", share, sock))
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            pb.environment().put("HOME", "/nonexistent");
            // the build's coverage agent lives in root's Maven repository, out of this user's reach
            pb.environment().remove("VIRTIOFSD_JAVA_OPTS");
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
            Process p = new ProcessBuilder(asUser("nobody", "nogroup", share, sock, "--sandbox", "chroot"))
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

    /** The unprivileged user .ci/install-deps.sh creates, with subordinate ids in /etc/subuid and /etc/subgid. */
    static final String IDMAP_USER = "virtiofsd-idmap";

    /** The first subordinate id range of {@code user} in {@code file} (start, count). */
    static long[] subordinate(String file, String user) throws IOException {
        Path f = Paths.get(file);
        if (Files.exists(f)) {
            for (String line : Files.readAllLines(f)) {
                String[] x = line.split(":", -1);
                if (x.length == 3 && x[0].equals(user)) {
                    return new long[] {Long.parseLong(x[1]), Long.parseLong(x[2])};
                }
            }
        }
        throw new IllegalStateException("no " + file + " entry for " + user + ": .ci/install-deps.sh creates the user"
                + " and its subordinate ids (useradd, usermod --add-subuids/--add-subgids)");
    }

    static int id(String flag, String user) throws Exception {
        Process p =
                new ProcessBuilder("id", flag, user).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        if (p.exitValue() != 0) {
            throw new IllegalStateException("no user " + user + " (" + out + "): .ci/install-deps.sh creates it");
        }
        return Integer.parseInt(out);
    }

    /** A CREATE as guest user {@code uid}:{@code gid} (the frontend's requests are root's otherwise). */
    FuseReply createAs(int uid, int gid, String name) throws Exception {
        byte[] r = frontend.fuse().create(Fuse.ROOT, name, 0100644, 0101 /* O_WRONLY|O_CREAT */);
        java.nio.ByteBuffer.wrap(r)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putInt(24, uid)
                .putInt(28, gid);
        return frontend.request(1, r, 16 + 128 + 16);
    }

    static int[] owner(Path p) throws IOException {
        return new int[] {(Integer) Files.getAttribute(p, "unix:uid"), (Integer) Files.getAttribute(p, "unix:gid")};
    }

    @Test
    void unprivilegedWithUidAndGidMapsAsVirtiofsd() throws Exception {
        int uid = id("-u", IDMAP_USER);
        int gid = id("-g", IDMAP_USER);
        long[] subUid = subordinate("/etc/subuid", IDMAP_USER);
        long[] subGid = subordinate("/etc/subgid", IDMAP_USER);
        Path base = Files.createTempDirectory(Paths.get("/tmp"), "vfsd-idmap-");
        try {
            Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path share = Files.createDirectory(base.resolve("shared"));
            Files.setPosixFilePermissions(share, PosixFilePermissions.fromString("rwxrwxrwx"));
            Path sockDir = Files.createDirectory(base.resolve("run"));
            Files.setOwner(
                    sockDir,
                    sockDir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(IDMAP_USER));
            Path sock = sockDir.resolve("vhost.sock");
            List<String> maps = List.of(
                    "--uid-map=:0:" + uid + ":1:",
                    "--uid-map=:1:" + subUid[0] + ":" + subUid[1] + ":",
                    "--gid-map=/0/" + gid + "/1/", // any delimiter, as virtiofsd
                    "--gid-map=:1:" + subGid[0] + ":" + subGid[1] + ":");
            log = tmp.resolve("idmap.log");
            ProcessBuilder pb = new ProcessBuilder(
                            asUser(String.valueOf(uid), String.valueOf(gid), share, sock, maps.toArray(String[]::new)))
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .directory(new java.io.File("/"));
            pb.environment().put("HOME", "/nonexistent");
            // the build's coverage agent lives in root's Maven repository, out of this user's reach
            pb.environment().remove("VIRTIOFSD_JAVA_OPTS");
            daemon = pb.start();
            await(daemon, "serving ");
            long pid = daemon.pid();
            assertNotEquals(ns("self", "user"), ns(pid, "user"));
            assertNotEquals(ns("self", "mnt"), ns(pid, "mnt"));
            assertEquals(
                    List.of("0 " + uid + " 1", "1 " + subUid[0] + " " + subUid[1]),
                    Files.readAllLines(Paths.get("/proc/" + pid + "/uid_map")).stream()
                            .map(l -> String.join(" ", l.trim().split("\\s+", -1)))
                            .toList());
            assertEquals(
                    List.of("0 " + gid + " 1", "1 " + subGid[0] + " " + subGid[1]),
                    Files.readAllLines(Paths.get("/proc/" + pid + "/gid_map")).stream()
                            .map(l -> String.join(" ", l.trim().split("\\s+", -1)))
                            .toList());
            Map<String, String> st = status(pid);
            assertTrue(st.get("Uid").startsWith(uid + "\t"), st.get("Uid"));
            assertEquals("2", st.get("Seccomp"));
            assertEquals("1", st.get("NoNewPrivs"));
            assertEquals(List.of(), rootListing(pid));
            assertTrue(
                    Files.readString(log).contains("(user namespace of --uid-map/--gid-map)"), Files.readString(log));

            frontend = VhostUserFrontend.connect(sock.toString());
            assertEquals(0, frontend.init().error());
            // guest user 1000 creates: the daemon takes on namespace ids 1000, host ids sub+999
            assertEquals(0, createAs(1000, 1000, "by-1000").error());
            assertEquals(
                    List.of(subUid[0] + 999, subGid[0] + 999),
                    Arrays.stream(owner(share.resolve("by-1000")))
                            .mapToObj(Long::valueOf)
                            .toList());
            // guest root: namespace root, the user itself on the host
            assertEquals(0, createAs(0, 0, "by-root").error());
            assertEquals(
                    List.of((long) uid, (long) gid),
                    Arrays.stream(owner(share.resolve("by-root")))
                            .mapToObj(Long::valueOf)
                            .toList());
            // a guest id outside the maps cannot be taken on: refused, nothing created on the host
            int outside = (int) (subUid[1] + 10);
            assertNotEquals(0, createAs(outside, outside, "by-outside").error());
            assertFalse(Files.exists(share.resolve("by-outside")));
            stop();

            // host ids /etc/subuid does not grant: newuidmap refuses, one line
            Process p = new ProcessBuilder(
                            asUser(String.valueOf(uid), String.valueOf(gid), share, sock, "--uid-map=:0:0:1:"))
                    .redirectErrorStream(true)
                    .directory(new java.io.File("/"))
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(1, p.exitValue(), out);
            assertTrue(
                    out.startsWith("virtiofsd-java: cannot set up --sandbox namespace: newuidmap 0 0 1 : newuidmap:"),
                    out);
            assertTrue(
                    out.endsWith(" (--sandbox none runs without it)\n")
                            && out.lines().count() == 1,
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
    void syslogReachesTheSyslogSocketFromInsideTheSandbox() throws Exception {
        Path syslog = tmp.resolve("log.sock");
        java.util.concurrent.BlockingQueue<String> datagrams = new java.util.concurrent.LinkedBlockingQueue<>();
        try (jnr.unixsocket.UnixDatagramChannel server = jnr.unixsocket.UnixDatagramChannel.open()) {
            server.bind(new jnr.unixsocket.UnixSocketAddress(syslog.toFile()));
            Thread receiver = new Thread(() -> {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(65536);
                try {
                    while (true) {
                        b.clear();
                        server.receive(b);
                        b.flip();
                        datagrams.add(StandardCharsets.UTF_8.decode(b).toString());
                    }
                } catch (IOException e) {
                    // closed at the end of the test
                }
            });
            receiver.setDaemon(true);
            receiver.start();
            Process p = launch(
                    Map.of(
                            "VIRTIOFSD_JAVA_OPTS",
                            System.getenv().getOrDefault("VIRTIOFSD_JAVA_OPTS", "") + " -Dvirtiofsd.syslog.socket="
                                    + syslog),
                    "--syslog");
            // "serving" is logged after the sandbox closed, under seccomp kill (sendto is not allowed)
            String serving = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (serving == null && System.nanoTime() < deadline) {
                assertTrue(p.isAlive(), Files.readString(log));
                String d = datagrams.poll(100, TimeUnit.MILLISECONDS);
                if (d != null && d.contains("]: serving ")) {
                    serving = d;
                }
            }
            assertTrue(serving != null && serving.startsWith("<14>"), String.valueOf(serving));
            assertTrue(serving.contains("seccomp kill"), serving);
            assertEquals("2", status(p.pid()).get("Seccomp"));
            connect();
            assertEquals("in the share\n", read("hello"));
            p.destroy();
            assertEquals(0, exitStatus(p), Files.readString(log));
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

    /**
     * The daemon's command line as {@code user}:{@code group} (names or ids) without supplementary
     * groups (setpriv), serving {@code share} on {@code sock}, plus {@code more} options.
     */
    private static List<String> asUser(String user, String group, Path share, Path sock, String... more) {
        List<String> cmd = new ArrayList<>(List.of(
                "setpriv",
                "--reuid=" + user,
                "--regid=" + group,
                "--clear-groups",
                "--",
                BIN.toString(),
                "--shared-dir",
                share.toString(),
                "--socket-path",
                sock.toString()));
        cmd.addAll(List.of(more));
        return cmd;
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
    void fuseDevRefusesAnExplicitNamespaceSandbox() throws Exception {
        // Without a --sandbox this transport runs with none (LiveCompositionIT); asked for the
        // namespace sandbox, which would hide its host mount, it says so in one line.
        Path mnt = Files.createDirectory(tmp.resolve("mnt"));
        Process p = new ProcessBuilder(
                        BIN.toString(),
                        "--transport=fuse-dev",
                        "--sandbox=namespace",
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
