package dev.virtiofsd.it.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.frontend.Fuse;
import dev.virtiofsd.frontend.FuseReply;
import dev.virtiofsd.frontend.VhostUserFrontend;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile guest driver against the real daemon process (bin/virtiofsd-java from the distribution)
 * through the Java vhost-user front end, and the same cases against Rust virtiofsd 1.13 (the peer,
 * {@code --sandbox none --seccomp none}). Every case checks the errno, that the daemon has no fd
 * open for I/O (O_PATH fds excluded) on a node it must never open ({@code /proc/PID/fd} and
 * {@code fdinfo}), and that the next normal request (LOOKUP, OPEN, READ, RELEASE of a plain file) is
 * served. Our answers are asserted; the peer's are recorded, and a report of where the two differ is
 * printed and written to {@code target/hostile-guest-report.md}.
 */
class HostileGuestIT {
    static final Path DIST = Paths.get(System.getProperty("virtiofsd.dist", "target/virtiofsd-java"));
    static final Path OURS = DIST.resolve("bin/virtiofsd-java");
    static final Path PEER = Paths.get(System.getProperty("virtiofsd.peer", "/opt/virtiofsd-peer/virtiofsd"));

    static final int MKNOD = 8;
    static final int SETATTR = 4;
    static final int SYMLINK = 6;
    static final int GETLK = 31;
    static final int SETLK = 32;
    static final int SETLKW = 33;
    static final int O_RDONLY = 0;
    static final int O_WRONLY = 1;
    static final int O_RDWR = 2;
    static final int O_NONBLOCK = 04000;
    static final int O_EXCL = 0200;
    static final int O_CREAT = 0100;
    static final int S_IFIFO = 0010000;
    static final int S_IFCHR = 0020000;
    static final int S_IFBLK = 0060000;
    static final int S_IFSOCK = 0140000;
    static final long O_PATH = 010000000;
    static final byte[] PLAIN = "plain data".getBytes(StandardCharsets.UTF_8);
    static final int RACE_SIZE = 64 * 1024;

    /** case -> column ("ours never") -> outcome. */
    static final Map<String, Map<String, String>> REPORT = new TreeMap<>();

    static final List<String> COLUMNS = new ArrayList<>();

    @TempDir
    Path tmp;

    @BeforeAll
    static void distributionBuilt() {
        assertTrue(Files.isExecutable(OURS), "distribution not built: " + OURS);
    }

    // ---- what our daemon must answer ------------------------------------------------------------

    static final Map<String, String> EXPECTED = new LinkedHashMap<>();

    static {
        for (String node : new String[] {"chr", "blk", "fifo", "sock", "symlink"}) {
            EXPECTED.put("OPEN " + node + " O_RDONLY", "EBADF");
            EXPECTED.put("OPEN " + node + " O_WRONLY", "EBADF");
            EXPECTED.put("OPEN " + node + " O_RDWR|O_NONBLOCK", "EBADF");
            EXPECTED.put("OPENDIR " + node, "EBADF");
            EXPECTED.put("SETATTR size " + node, "EBADF");
            EXPECTED.put("GETLK " + node, "EBADF");
            EXPECTED.put("SETLK " + node, "EBADF");
            EXPECTED.put("SETLKW " + node, "EBADF");
        }
        for (String node : new String[] {"chr", "blk", "fifo", "sock"}) {
            EXPECTED.put("CREATE existing " + node, "EBADF");
        }
        EXPECTED.put("CREATE existing symlink", "EBADF");
        EXPECTED.put("CREATE existing directory", "EISDIR");
        EXPECTED.put("CREATE O_EXCL existing fifo", "EEXIST");
        EXPECTED.put("GETATTR never-handed-out node", "EBADF");
        EXPECTED.put("OPEN never-handed-out node", "EBADF");
        EXPECTED.put("READ never-handed-out fh", "EBADF");
        EXPECTED.put("WRITE never-handed-out fh", "EBADF");
        EXPECTED.put("RELEASE never-handed-out fh", "EBADF");
        EXPECTED.put("READ fh of another node", "EBADF");
        EXPECTED.put("LOOKUP a/b", "EINVAL");
        EXPECTED.put("LOOKUP empty name", "EINVAL");
        EXPECTED.put("LOOKUP name of 256 bytes", "ENAMETOOLONG");
        EXPECTED.put("LOOKUP .. at the root", "OK");
        EXPECTED.put("MKDIR ..", "EINVAL");
        EXPECTED.put("LOOKUP name without NUL", "EINVAL");
        EXPECTED.put("FORGET racing READs", "OK");
        EXPECTED.put("RELEASE racing READs", "OK");
        EXPECTED.put("DESTROY racing READs", "OK");
        EXPECTED.put("second INIT racing READs", "OK");
        EXPECTED.put("100000 GETLK owners", "OK");
        EXPECTED.put("10000 SETLKW waiters", "OK");
    }

    // ---- the daemon under test ------------------------------------------------------------------

    /** One daemon process serving one front-end connection. */
    final class Daemon implements AutoCloseable {
        final String column;
        final Process proc;
        final Path share;
        final Path log;
        final VhostUserFrontend f;
        final Fuse fuse;

        Daemon(String column, String group, Path share, List<String> cmd, VhostUserFrontend.Options o)
                throws Exception {
            this.column = column;
            this.share = share;
            String id = (column + " " + group).replace(' ', '-');
            Path sock = tmp.resolve(id + ".sock");
            this.log = Paths.get("target", "hostile-" + id + ".log");
            List<String> full = new ArrayList<>(cmd);
            full.addAll(List.of("--shared-dir", share.toString(), "--socket-path", sock.toString()));
            proc = new ProcessBuilder(full)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(sock)) {
                if (!proc.isAlive()) {
                    fail(column + ": daemon exited " + proc.exitValue() + ": " + Files.readString(log));
                }
                if (System.nanoTime() > deadline) {
                    fail(column + ": no socket after 60 s: " + Files.readString(log));
                }
                Thread.sleep(20);
            }
            f = connect(sock, o, deadline);
            fuse = f.fuse();
            FuseReply init = f.init(0);
            assertEquals(0, init.error(), column + " INIT");
        }

        long pid() {
            return proc.pid();
        }

        /** The socket file can appear (bind) a moment before the daemon listens: retry a refusal. */
        private VhostUserFrontend connect(Path sock, VhostUserFrontend.Options o, long deadline) throws Exception {
            while (true) {
                try {
                    return VhostUserFrontend.connect(sock.toString(), o);
                } catch (ErrnoException e) {
                    if (e.errno() != 111 || System.nanoTime() > deadline) { // ECONNREFUSED
                        throw e;
                    }
                    Thread.sleep(20);
                }
            }
        }

        /** One request on queue 1; "TIMEOUT" when no answer within {@code millis}. */
        Answer call(byte[] request, int replyCap, int millis) throws ErrnoException {
            int t = f.submit(1, request, replyCap);
            long t0 = System.nanoTime();
            FuseReply r = f.await(1, t, millis);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            return new Answer(r, ms);
        }

        Answer call(byte[] request, int replyCap) throws ErrnoException {
            return call(request, replyCap, 10_000);
        }

        @Override
        public void close() {
            f.close();
            try {
                if (!proc.waitFor(20, TimeUnit.SECONDS)) {
                    proc.destroy();
                    if (!proc.waitFor(10, TimeUnit.SECONDS)) {
                        proc.destroyForcibly();
                    }
                }
            } catch (InterruptedException e) {
                proc.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A reply (null: none in time) and how long it took. */
    record Answer(FuseReply reply, long millis) {
        String outcome() {
            if (reply == null) {
                return "TIMEOUT";
            }
            int e = reply.error();
            return e == 0 ? "OK" : Errno.name(-e);
        }

        long nodeId() {
            return reply.nodeId();
        }
    }

    // ---- request builders -----------------------------------------------------------------------

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int o = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }

    static byte[] mknod(Fuse fuse, String name, int mode, int rdev) {
        return fuse.request(MKNOD, Fuse.ROOT, concat(le(16, b -> b.putInt(mode).putInt(rdev)), Fuse.name(name)));
    }

    static byte[] truncate(Fuse fuse, long node) {
        ByteBuffer b = Fuse.body(88).putInt(1 << 3); // FATTR_SIZE, no fh
        return fuse.request(SETATTR, node, bytes(b));
    }

    static byte[] lk(Fuse fuse, int opcode, long node, long fh, long owner, int type) {
        ByteBuffer b = Fuse.body(48)
                .putLong(fh)
                .putLong(owner)
                .putLong(0)
                .putLong(Long.MAX_VALUE)
                .putInt(type);
        return fuse.request(opcode, node, bytes(b));
    }

    /** A little-endian request body of {@code size} bytes filled by {@code fill}. */
    static byte[] le(int size, java.util.function.Consumer<ByteBuffer> fill) {
        ByteBuffer b = ByteBuffer.allocate(size).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        fill.accept(b);
        return b.array();
    }

    /** The whole content of a heap buffer made by {@link Fuse#body}. */
    static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.capacity()];
        b.duplicate().clear().get(out);
        return out;
    }

    static int devNumber(int major, int minor) {
        return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
    }

    // ---- checks ---------------------------------------------------------------------------------

    /** Fds of the daemon open on {@code path} for I/O (not O_PATH). */
    static List<String> ioFdsOn(long pid, Path path) {
        List<String> out = new ArrayList<>();
        Path dir = Paths.get("/proc", Long.toString(pid), "fd");
        try (Stream<Path> fds = Files.list(dir)) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    if (!Files.readSymbolicLink(fd).equals(path)) {
                        continue;
                    }
                    String info = Files.readString(Paths.get(
                            "/proc",
                            Long.toString(pid),
                            "fdinfo",
                            fd.getFileName().toString()));
                    for (String line : (Iterable<String>) info.lines()::iterator) {
                        if (line.startsWith("flags:")
                                && (Long.parseLong(line.substring(6).trim(), 8) & O_PATH) == 0) {
                            out.add(fd.getFileName() + " " + line.trim());
                        }
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out;
    }

    static int fdCount(long pid) {
        String[] l = Paths.get("/proc", Long.toString(pid), "fd").toFile().list();
        return l == null ? -1 : l.length;
    }

    static int threads(long pid) throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("Threads:")) {
                return Integer.parseInt(line.substring(8).trim());
            }
        }
        return -1;
    }

    /** The next normal request is served: LOOKUP, OPEN, READ, RELEASE of "plain". */
    static String normalRead(Daemon d) throws ErrnoException {
        Answer l = d.call(d.fuse.lookup(Fuse.ROOT, "plain"), 16 + 128, 5000);
        if (!l.outcome().equals("OK")) {
            return "next LOOKUP " + l.outcome();
        }
        long node = l.nodeId();
        Answer o = d.call(d.fuse.open(node, O_RDONLY), 16 + 16, 5000);
        if (!o.outcome().equals("OK")) {
            return "next OPEN " + o.outcome();
        }
        long fh = o.reply().fh();
        Answer r = d.call(d.fuse.read(node, fh, 0, 64), 16 + 64, 5000);
        d.call(d.fuse.release(node, fh), 16, 5000);
        if (r.reply() == null || !Arrays.equals(PLAIN, r.reply().data())) {
            return "next READ " + r.outcome();
        }
        return null;
    }

    /** Records a case; for our daemon, checks it against {@link #EXPECTED}. */
    void record(Daemon d, String name, String outcome, List<String> problems) throws ErrnoException {
        String next = normalRead(d);
        if (next != null) {
            problems.add(name + ": the next normal request failed: " + next);
            outcome += " (" + next + ")";
        }
        REPORT.computeIfAbsent(name, k -> new TreeMap<>()).put(d.column, outcome);
        if (d.column.startsWith("ours")) {
            String want = EXPECTED.get(name);
            if (want == null) {
                problems.add(name + ": no expectation");
            } else if (!outcome.equals(want)) {
                problems.add(name + ": " + outcome + ", expected " + want);
            }
        }
    }

    // ---- the cases ------------------------------------------------------------------------------

    Path share(String column) throws IOException {
        Path s = Files.createDirectory(tmp.resolve("share-" + column.replace(' ', '-')));
        Files.write(s.resolve("plain"), PLAIN);
        Files.write(s.resolve("race"), pattern(RACE_SIZE, 1));
        Files.write(s.resolve("other"), pattern(RACE_SIZE, 2));
        return s;
    }

    static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 131 + seed * 17 + (i >>> 8));
        }
        return b;
    }

    static VhostUserFrontend.Options frontendOptions() {
        VhostUserFrontend.Options o = new VhostUserFrontend.Options();
        o.queueSize = 1024;
        o.slots = 1024;
        o.bufferSize = 80 * 1024;
        o.memorySize = 512L << 20;
        return o;
    }

    List<String> oursCommand(String mode, String... extra) {
        List<String> c = new ArrayList<>(List.of(OURS.toString(), "--inode-file-handles=" + mode));
        c.addAll(Arrays.asList(extra));
        return c;
    }

    List<String> peerCommand(String mode) {
        return new ArrayList<>(
                List.of(PEER.toString(), "--sandbox", "none", "--seccomp", "none", "--inode-file-handles=" + mode));
    }

    interface Group {
        void run(Daemon d, List<String> problems) throws Exception;
    }

    /**
     * Runs every group of cases, each on a daemon of its own (a daemon that a case kills or wedges
     * must not hide the answers to the other groups). Our daemon's answers are asserted; a peer
     * group that breaks off is recorded as such.
     */
    void runAll(String column, List<String> cmd) throws Exception {
        COLUMNS.add(column);
        List<String> problems = new ArrayList<>();
        Path share = share(column);
        Map<String, Group> groups = new LinkedHashMap<>();
        groups.put("special nodes", this::specialNodes);
        groups.put("bad handles and names", this::badHandlesAndNames);
        groups.put("races", this::races);
        groups.put("locks", this::locks);
        for (Map.Entry<String, Group> g : groups.entrySet()) {
            try (Daemon d = new Daemon(column, g.getKey(), share, cmd, frontendOptions())) {
                g.getValue().run(d, problems);
            } catch (Exception | AssertionError e) {
                if (column.startsWith("ours")) {
                    throw e;
                }
                REPORT.computeIfAbsent("(group " + g.getKey() + " broke off)", k -> new TreeMap<>())
                        .put(column, e.toString().replace('|', '/'));
            }
        }
        if (column.startsWith("ours")) {
            assertTrue(problems.isEmpty(), column + ":\n  " + String.join("\n  ", problems));
        }
    }

    void specialNodes(Daemon d, List<String> problems) throws Exception {
        Map<String, Long> nodes = new LinkedHashMap<>();
        Answer a;
        a = d.call(mknod(d.fuse, "chr", S_IFCHR | 0666, devNumber(1, 5)), 16 + 128); // the host's /dev/zero
        nodes.put("chr", a.reply().error() == 0 ? a.nodeId() : -1);
        a = d.call(mknod(d.fuse, "blk", S_IFBLK | 0600, devNumber(7, 0)), 16 + 128); // the host's /dev/loop0
        nodes.put("blk", a.reply().error() == 0 ? a.nodeId() : -1);
        a = d.call(mknod(d.fuse, "fifo", S_IFIFO | 0666, 0), 16 + 128);
        nodes.put("fifo", a.reply().error() == 0 ? a.nodeId() : -1);
        a = d.call(mknod(d.fuse, "sock", S_IFSOCK | 0666, 0), 16 + 128);
        nodes.put("sock", a.reply().error() == 0 ? a.nodeId() : -1);
        a = d.call(d.fuse.request(SYMLINK, Fuse.ROOT, concat(Fuse.name("symlink"), Fuse.name("plain"))), 16 + 128);
        nodes.put("symlink", a.reply().error() == 0 ? a.nodeId() : -1);
        for (Map.Entry<String, Long> e : nodes.entrySet()) {
            assertTrue(e.getValue() > 0, d.column + ": the guest could make " + e.getKey());
        }
        for (Map.Entry<String, Long> e : nodes.entrySet()) {
            String n = e.getKey();
            long node = e.getValue();
            Path host = d.share.resolve(n);
            int[][] opens = {{O_RDONLY}, {O_WRONLY}, {O_RDWR | O_NONBLOCK}};
            String[] names = {"O_RDONLY", "O_WRONLY", "O_RDWR|O_NONBLOCK"};
            for (int i = 0; i < opens.length; i++) {
                Answer o = d.call(d.fuse.open(node, opens[i][0]), 16 + 16, 1000);
                String out = o.outcome();
                if (o.reply() != null && o.millis() > 1000) {
                    out += " after " + o.millis() + " ms";
                }
                if (o.reply() == null) {
                    // A FIFO open that blocks holds the queue: nothing more can be asked of this daemon.
                    record(d, "OPEN " + n + " " + names[i], "TIMEOUT", problems);
                    return;
                }
                out = withOpenFds(d, host, out);
                if (o.reply().error() == 0) {
                    d.call(d.fuse.release(node, o.reply().fh()), 16, 2000);
                }
                record(d, "OPEN " + n + " " + names[i], out, problems);
            }
            record(
                    d,
                    "OPENDIR " + n,
                    withOpenFds(d, host, d.call(d.fuse.opendir(node), 32, 1000).outcome()),
                    problems);
            record(
                    d,
                    "SETATTR size " + n,
                    withOpenFds(
                            d,
                            host,
                            d.call(truncate(d.fuse, node), 16 + 104, 1000).outcome()),
                    problems);
            record(
                    d,
                    "GETLK " + n,
                    withOpenFds(
                            d,
                            host,
                            d.call(lk(d.fuse, GETLK, node, 0, 7, 1), 16 + 24, 1000)
                                    .outcome()),
                    problems);
            record(
                    d,
                    "SETLK " + n,
                    withOpenFds(
                            d,
                            host,
                            d.call(lk(d.fuse, SETLK, node, 0, 7, 1), 16, 1000).outcome()),
                    problems);
            Answer w = d.call(lk(d.fuse, SETLKW, node, 0, 7, 1), 16, 1000);
            record(d, "SETLKW " + n, withOpenFds(d, host, w.outcome()), problems);
        }
        for (String n : new String[] {"chr", "blk", "fifo", "sock", "symlink"}) {
            Answer c = d.call(d.fuse.create(Fuse.ROOT, n, 0644, O_RDWR | O_CREAT), 16 + 128 + 16, 1000);
            String out = withOpenFds(d, d.share.resolve(n), c.outcome());
            if (c.reply() != null && c.reply().error() == 0) {
                d.call(d.fuse.release(c.reply().nodeId(), c.reply().createFh()), 16, 2000);
            }
            record(d, "CREATE existing " + n, out, problems);
        }
        Files.createDirectory(d.share.resolve("dir"));
        record(
                d,
                "CREATE existing directory",
                d.call(d.fuse.create(Fuse.ROOT, "dir", 0644, O_RDWR | O_CREAT), 16 + 128 + 16, 1000)
                        .outcome(),
                problems);
        Answer x = d.call(d.fuse.create(Fuse.ROOT, "fifo", 0644, O_RDWR | O_CREAT | O_EXCL), 16 + 128 + 16, 1000);
        record(d, "CREATE O_EXCL existing fifo", x.outcome(), problems);
        assertEquals("plain data", Files.readString(d.share.resolve("plain")), "nothing wrote through the symlink");
    }

    /** Appends the daemon's I/O fds on {@code host} to the outcome: there must be none. */
    static String withOpenFds(Daemon d, Path host, String outcome) {
        List<String> open = ioFdsOn(d.pid(), host);
        return open.isEmpty() ? outcome : outcome + " +open fd " + open;
    }

    void badHandlesAndNames(Daemon d, List<String> problems) throws Exception {
        record(
                d,
                "GETATTR never-handed-out node",
                d.call(d.fuse.getattr(0xdead_beefL), 16 + 104).outcome(),
                problems);
        record(
                d,
                "OPEN never-handed-out node",
                d.call(d.fuse.open(0xdead_beefL, O_RDONLY), 32).outcome(),
                problems);
        long plain = d.call(d.fuse.lookup(Fuse.ROOT, "plain"), 16 + 128).nodeId();
        long race = d.call(d.fuse.lookup(Fuse.ROOT, "race"), 16 + 128).nodeId();
        record(
                d,
                "READ never-handed-out fh",
                d.call(d.fuse.read(plain, 0x7777, 0, 16), 32).outcome(),
                problems);
        record(
                d,
                "WRITE never-handed-out fh",
                d.call(d.fuse.write(plain, 0x7777, 0, new byte[] {1}), 24).outcome(),
                problems);
        record(
                d,
                "RELEASE never-handed-out fh",
                d.call(d.fuse.release(plain, 0x7777), 16).outcome(),
                problems);
        long fh = d.call(d.fuse.open(race, O_RDONLY), 32).reply().fh();
        record(
                d,
                "READ fh of another node",
                d.call(d.fuse.read(plain, fh, 0, 16), 32).outcome(),
                problems);
        d.call(d.fuse.release(race, fh), 16);
        record(
                d,
                "LOOKUP a/b",
                d.call(d.fuse.lookup(Fuse.ROOT, "plain/x"), 16 + 128).outcome(),
                problems);
        record(
                d,
                "LOOKUP empty name",
                d.call(d.fuse.lookup(Fuse.ROOT, ""), 16 + 128).outcome(),
                problems);
        record(
                d,
                "LOOKUP name of 256 bytes",
                d.call(d.fuse.lookup(Fuse.ROOT, "n".repeat(256)), 16 + 128).outcome(),
                problems);
        Answer up = d.call(d.fuse.lookup(Fuse.ROOT, ".."), 16 + 128);
        record(
                d,
                "LOOKUP .. at the root",
                up.outcome() + (up.outcome().equals("OK") && up.nodeId() != Fuse.ROOT ? " node " + up.nodeId() : ""),
                problems);
        record(
                d,
                "MKDIR ..",
                d.call(d.fuse.request(9, Fuse.ROOT, concat(le(8, b -> b.putInt(0755)), Fuse.name(".."))), 16 + 128)
                        .outcome(),
                problems);
        record(
                d,
                "LOOKUP name without NUL",
                d.call(d.fuse.request(1, Fuse.ROOT, "plain".getBytes(StandardCharsets.UTF_8)), 16 + 128)
                        .outcome(),
                problems);
    }

    /**
     * Requests racing FORGET (hiprio queue), RELEASE, DESTROY and a second INIT: every READ of "race"
     * returns its own bytes or an errno, never another file's (a recycled fd), and nothing hangs.
     */
    void races(Daemon d, List<String> problems) throws Exception {
        byte[] want = pattern(RACE_SIZE, 1);
        for (String kind : new String[] {"FORGET", "RELEASE", "DESTROY", "second INIT"}) {
            long race = d.call(d.fuse.lookup(Fuse.ROOT, "race"), 16 + 128).nodeId();
            long other = d.call(d.fuse.lookup(Fuse.ROOT, "other"), 16 + 128).nodeId();
            long fh = d.call(d.fuse.open(race, O_RDONLY), 32).reply().fh();
            List<Integer> tickets = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                tickets.add(d.f.submit(1, d.fuse.read(race, fh, 0, RACE_SIZE), 16 + RACE_SIZE));
                if (i == 100) {
                    switch (kind) {
                        case "FORGET":
                            d.f.forget(race, 1 << 20);
                            break;
                        case "RELEASE":
                            tickets.add(d.f.submit(1, d.fuse.release(race, fh), 16));
                            break;
                        case "DESTROY":
                            tickets.add(d.f.submit(1, d.fuse.request(38, 0, new byte[0]), 16));
                            break;
                        default:
                            tickets.add(d.f.submit(1, d.fuse.init(37, 0), 16 + 64));
                    }
                    // Files the daemon opens now could take a recycled fd number.
                    for (int k = 0; k < 20; k++) {
                        tickets.add(d.f.submit(1, d.fuse.open(other, O_RDONLY), 16 + 16));
                    }
                }
            }
            int good = 0;
            int refused = 0;
            String bad = null;
            for (int t : tickets) {
                FuseReply r = d.f.await(1, t, 20_000);
                if (r == null) {
                    bad = "TIMEOUT";
                    break;
                }
                if (r.usedLength() == 16 + RACE_SIZE) {
                    if (Arrays.equals(want, r.data())) {
                        good++;
                    } else {
                        bad = "a READ returned other bytes";
                    }
                } else if (r.error() != 0) {
                    refused++;
                }
            }
            if (kind.equals("DESTROY")) {
                d.call(d.fuse.init(37, 0), 16 + 64);
            }
            String outcome = bad != null ? bad : "OK";
            System.out.println(
                    d.column + " " + kind + " racing READs: " + good + " read right, " + refused + " refused");
            record(d, kind + " racing READs", outcome, problems);
            if (kind.equals("FORGET")) {
                d.call(d.fuse.release(race, fh), 16);
            }
        }
    }

    /** 100,000 GETLK owners cost no fds; 10,000 SETLKW waiters cost a bounded number of threads. */
    void locks(Daemon d, List<String> problems) throws Exception {
        long plain = d.call(d.fuse.lookup(Fuse.ROOT, "plain"), 16 + 128).nodeId();
        long fh = d.call(d.fuse.open(plain, O_RDWR), 32).reply().fh();
        int fdsBefore = fdCount(d.pid());
        Map<String, Integer> getlk = new TreeMap<>();
        pipeline(d, 100_000, i -> lk(d.fuse, GETLK, plain, fh, 1000 + i, 1), 16 + 24, getlk);
        int fdsAfter = fdCount(d.pid());
        String out = getlk.keySet().size() == 1 ? getlk.keySet().iterator().next() : getlk.toString();
        if (fdsAfter > fdsBefore + 4) {
            out += " fds +" + (fdsAfter - fdsBefore);
        }
        System.out.println(d.column + " GETLK x100000: " + getlk + ", fds " + fdsBefore + " -> " + fdsAfter);
        record(d, "100000 GETLK owners", out, problems);

        // SETLKW: one owner holds the lock, 10,000 others wait for it.
        Answer held = d.call(lk(d.fuse, SETLK, plain, fh, 1, 1), 16);
        int threadsBefore = threads(d.pid());
        Map<String, Integer> setlkw = new TreeMap<>();
        Map<Integer, Long> pending = new java.util.HashMap<>(); // ticket -> unique
        int maxThreads = threadsBefore;
        int sent = 0;
        while (true) {
            while (sent < 10_000 && pending.size() < 400) {
                byte[] req = lk(d.fuse, SETLKW, plain, fh, 2 + sent, 1);
                long unique = ByteBuffer.wrap(req)
                        .order(java.nio.ByteOrder.LITTLE_ENDIAN)
                        .getLong(8);
                pending.put(d.f.submit(1, req, 16), unique);
                sent++;
            }
            int t = d.f.awaitAny(1, 3000);
            if (t < 0) {
                break; // what is left waits for the lock
            }
            FuseReply r = d.f.await(1, t, 0);
            setlkw.merge(r.error() == 0 ? "OK" : Errno.name(-r.error()), 1, Integer::sum);
            pending.remove(t);
            if (setlkw.values().stream().mapToInt(Integer::intValue).sum() % 500 == 0) {
                maxThreads = Math.max(maxThreads, threads(d.pid()));
            }
        }
        maxThreads = Math.max(maxThreads, threads(d.pid()));
        int stillWaiting = pending.size();
        String normalWhileWaiting = normalRead(d);
        // End the waits: INTERRUPT each one still waiting (hiprio queue), then drop the lock.
        for (long unique : pending.values()) {
            d.f.submit(0, d.fuse.request(36, 0, le(8, b -> b.putLong(unique))), 0);
            drainHiprio(d, 0);
        }
        d.call(lk(d.fuse, SETLK, plain, fh, 1, 2), 16);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!pending.isEmpty() && System.nanoTime() < deadline) {
            int t = d.f.awaitAny(1, 1000);
            if (t < 0) {
                continue;
            }
            FuseReply r = d.f.await(1, t, 0);
            setlkw.merge("after: " + (r.error() == 0 ? "OK" : Errno.name(-r.error())), 1, Integer::sum);
            pending.remove(t);
        }
        drainHiprio(d, 100);
        d.call(d.fuse.release(plain, fh), 16);
        System.out.println(d.column + " SETLKW x10000: " + setlkw + ", waiting at once " + stillWaiting
                + ", threads " + threadsBefore + " -> max " + maxThreads + ", still waiting at the end "
                + pending.size()
                + ", normal request while they waited: " + (normalWhileWaiting == null ? "served" : normalWhileWaiting)
                + ", lock holder: " + held.outcome());
        String outcome;
        if (setlkw.size() == 1 && setlkw.containsKey("ENOSYS")) {
            outcome = "ENOSYS";
        } else if (!pending.isEmpty()) {
            outcome = pending.size() + " never answered";
        } else if (normalWhileWaiting != null) {
            outcome = "blocked the queue: " + normalWhileWaiting;
        } else if (maxThreads - threadsBefore > 300) {
            outcome = "threads +" + (maxThreads - threadsBefore);
        } else {
            outcome = "OK";
        }
        if (d.column.startsWith("ours")) {
            int enolck = setlkw.getOrDefault("ENOLCK", 0);
            if (enolck < 10_000 - 300) {
                problems.add("SETLKW: only " + enolck + " ENOLCK beyond the waiter cap: " + setlkw);
            }
        }
        record(d, "10000 SETLKW waiters", outcome, problems);
    }

    /** Takes back the hiprio queue's used descriptors (INTERRUPT, FORGET: no reply). */
    static void drainHiprio(Daemon d, int millis) throws ErrnoException {
        int t;
        while ((t = d.f.awaitAny(0, millis)) >= 0) {
            d.f.await(0, t, 0);
        }
    }

    interface RequestMaker {
        byte[] make(int i);
    }

    /** Sends {@code n} requests with up to 400 in flight; counts outcomes. */
    static void pipeline(Daemon d, int n, RequestMaker m, int cap, Map<String, Integer> outcomes) throws Exception {
        int sent = 0;
        int inFlight = 0;
        while (sent < n || inFlight > 0) {
            while (sent < n && inFlight < 400) {
                d.f.submit(1, m.make(sent++), cap);
                inFlight++;
            }
            int t = d.f.awaitAny(1, 10_000);
            if (t < 0) {
                outcomes.merge("TIMEOUT", inFlight, Integer::sum);
                return;
            }
            FuseReply r = d.f.await(1, t, 0);
            outcomes.merge(r.error() == 0 ? "OK" : Errno.name(-r.error()), 1, Integer::sum);
            inFlight--;
        }
    }

    // ---- the runs -------------------------------------------------------------------------------

    static boolean peerAvailable() {
        if (Files.isExecutable(PEER)) {
            return true;
        }
        if (System.getenv("CI") != null) {
            fail("the peer " + PEER + " is missing in CI: .ci/run installs it (scripts/peer/install-virtiofsd.sh)");
        }
        System.err.println("*** HostileGuestIT: SKIPPING the peer comparison: " + PEER + " is not installed"
                + " (run scripts/peer/install-virtiofsd.sh) ***");
        return false;
    }

    @Test
    void inodeFileHandlesNever() throws Exception {
        runAll("ours never", oursCommand("never"));
        if (peerAvailable()) {
            runAll("peer never", peerCommand("never"));
        }
    }

    @Test
    void inodeFileHandlesPrefer() throws Exception {
        runAll("ours prefer", oursCommand("prefer", "--thread-pool-size=2"));
        if (peerAvailable()) {
            runAll("peer prefer", peerCommand("prefer"));
        }
    }

    @AfterAll
    static void report() throws IOException {
        StringBuilder b = new StringBuilder();
        b.append("# Hostile guest: our daemon and Rust virtiofsd 1.13, case by case\n\n");
        b.append("| case | ").append(String.join(" | ", COLUMNS)).append(" | differs |\n");
        b.append("|---|").append("---|".repeat(COLUMNS.size())).append("---|\n");
        int differ = 0;
        for (Map.Entry<String, Map<String, String>> e : REPORT.entrySet()) {
            List<String> row = new ArrayList<>();
            boolean diff = false;
            for (String c : COLUMNS) {
                String v = e.getValue().getOrDefault(c, "");
                row.add(v);
                String mode = c.substring(c.indexOf(' ') + 1);
                String other = e.getValue().get((c.startsWith("ours") ? "peer " : "ours ") + mode);
                if (other != null && !v.isEmpty() && !other.equals(v)) {
                    diff = true;
                }
            }
            if (diff) {
                differ++;
            }
            b.append("| ")
                    .append(e.getKey())
                    .append(" | ")
                    .append(String.join(" | ", row))
                    .append(" | ")
                    .append(diff ? "**yes**" : "")
                    .append(" |\n");
        }
        b.append("\n").append(differ).append(" of ").append(REPORT.size()).append(" cases answered differently.\n");
        System.out.println(b);
        Files.createDirectories(Paths.get("target"));
        Files.writeString(Paths.get("target", "hostile-guest-report.md"), b.toString());
    }
}
