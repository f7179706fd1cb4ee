package dev.virtiofsd.it.guest;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One live migration of a guest with the share mounted: daemon A + QEMU 10 A (trixie root, see
 * scripts/qemu10) run guest/workload-migrate.sh; once the guest says MIGRATE-READY, daemon B + QEMU
 * B start with {@code -incoming}, and A migrates to B (precopy over a unix socket, or into a file
 * that B loads later: {@link #offline}, which leaves a window for host-side changes between source
 * and destination). When the guest runs on B, the host creates {@code mig/migrated}; the guest then
 * checks its open files and tree. Logs stay in the work dir (console-a.log, console-b.log,
 * daemon-a.log, daemon-b.log, qemu-a.log, qemu-b.log).
 */
final class MigrationRun {
    /** A host-side change made at a given point of the run. */
    interface HostAction {
        void run(Path sharedDir) throws IOException;
    }

    final Path work;
    final Path shared;
    private final Path sock;
    private boolean offline;
    private HostAction beforeMigrate = d -> {};
    private HostAction betweenSourceAndDestination = d -> {};

    /** What happened. */
    String migrationStatus = "";

    String migrationError = "";
    GuestResult result;
    String daemonALog = "";
    String daemonBLog = "";
    String qemuBLog = "";
    Integer daemonAExit;
    Integer daemonBExit;
    long migrationMillis;

    private MigrationRun(Path work, Path shared, Path sock) {
        this.work = work;
        this.shared = shared;
        this.sock = sock;
    }

    static MigrationRun prepare(String name) throws IOException {
        Path work = GuestEnvironment.workRoot().resolve(name);
        GuestRun.deleteTree(work);
        Path shared = Files.createDirectories(work.resolve("shared"));
        Path sock = Files.createTempDirectory(Paths.get("/tmp"), "vfsm");
        return new MigrationRun(work, shared, sock);
    }

    MigrationRun offline() {
        offline = true;
        return this;
    }

    MigrationRun beforeMigrate(HostAction a) {
        beforeMigrate = a;
        return this;
    }

    MigrationRun betweenSourceAndDestination(HostAction a) {
        betweenSourceAndDestination = a;
        return this;
    }

    /** The daemon command for side "a" or "b" (socket path given). */
    interface Daemon {
        List<String> argv(Path sharedDir, Path socket);
    }

    void execute(Daemon daemonA, Daemon daemonB) throws IOException, InterruptedException {
        Path kernel = GuestEnvironment.kernelDir();
        Path initramfs = GuestImage.initramfs();
        Path qemu10 = GuestEnvironment.scriptsDir().resolve("qemu10/qemu.sh");
        Path state = work.resolve("state.bin");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(GuestEnvironment.timeoutSeconds());
        List<Process> all = new ArrayList<>();
        Process da = null;
        Process qa = null;
        Process db = null;
        Process qb = null;
        try {
            da = startDaemon("a", daemonA.argv(shared, sock.resolve("a.sock")), all);
            qa = startQemu("a", qemu10, kernel, initramfs, null, all);
            waitForConsole("a", "MIGRATE-READY", qa, deadline);
            beforeMigrate.run(shared);
            String uri = offline ? "file:" + state : "unix:" + sock.resolve("mig.sock");
            if (!offline) {
                db = startDaemon("b", daemonB.argv(shared, sock.resolve("b.sock")), all);
                qb = startQemu("b", qemu10, kernel, initramfs, uri, all);
                waitFor(
                        () -> Files.exists(sock.resolve("mig.sock")),
                        qb,
                        "QEMU B listening for the migration",
                        deadline);
            }
            long m0 = System.nanoTime();
            try (Qmp a = Qmp.connect(sock.resolve("qmp-a.sock"), deadline)) {
                if (!offline) {
                    // The destination reports whether it could load the state (the back end's too):
                    // without a return path the source would call a migration "completed" that B
                    // then failed to load.
                    a.command("{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":"
                            + "[{\"capability\":\"return-path\",\"state\":true}]}}");
                }
                a.command("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"" + uri + "\"}}");
                while (true) {
                    String r = a.command("{\"execute\":\"query-migrate\"}");
                    Matcher st = Pattern.compile("\"status\": *\"([a-z-]+)\"").matcher(r);
                    migrationStatus = st.find() ? st.group(1) : "?";
                    if (migrationStatus.equals("completed") || migrationStatus.equals("failed")) {
                        Matcher e =
                                Pattern.compile("\"error-desc\": *\"([^\"]*)\"").matcher(r);
                        migrationError = e.find() ? e.group(1) : "";
                        break;
                    }
                    if (System.nanoTime() > deadline) {
                        throw new IOException("migration did not end: " + r);
                    }
                    Thread.sleep(200);
                }
                migrationMillis = (System.nanoTime() - m0) / 1_000_000;
                if (migrationStatus.equals("completed")) {
                    a.command("{\"execute\":\"quit\"}");
                }
            }
            if (migrationStatus.equals("completed")) {
                qa.waitFor(30, TimeUnit.SECONDS);
                // QEMU A is gone: daemon A exits by itself, as virtiofsd.
                if (da.waitFor(30, TimeUnit.SECONDS)) {
                    daemonAExit = da.exitValue();
                }
                if (offline) {
                    betweenSourceAndDestination.run(shared);
                    db = startDaemon("b", daemonB.argv(shared, sock.resolve("b.sock")), all);
                    qb = startQemu("b", qemu10, kernel, initramfs, uri, all);
                }
                Process b = qb;
                // Running on B (or B gave up loading): then tell the guest.
                waitFor(() -> !b.isAlive() || running(sock.resolve("qmp-b.sock")), qb, "QEMU B running", deadline);
                Files.writeString(shared.resolve("mig/migrated"), "yes\n");
                waitForExit(qb, deadline);
                if (db.waitFor(30, TimeUnit.SECONDS)) {
                    daemonBExit = db.exitValue();
                }
            } else {
                // A failed migration resumes the guest on the source.
                Files.writeString(shared.resolve("mig/migrated"), "no\n");
                waitForExit(qa, deadline);
                if (da.waitFor(30, TimeUnit.SECONDS)) {
                    daemonAExit = da.exitValue();
                }
                if (qb != null) {
                    waitForExit(qb, deadline);
                }
                if (db != null && db.waitFor(30, TimeUnit.SECONDS)) {
                    daemonBExit = db.exitValue();
                }
            }
        } finally {
            for (Process p : all) {
                if (p.isAlive()) {
                    p.destroy();
                    if (!p.waitFor(5, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                    }
                }
            }
            GuestRun.deleteTree(sock);
            Files.deleteIfExists(state);
        }
        daemonALog = GuestRun.read(work.resolve("daemon-a.log"));
        daemonBLog = GuestRun.read(work.resolve("daemon-b.log"));
        qemuBLog = GuestRun.read(work.resolve("qemu-b.log"));
        String console = GuestRun.read(work.resolve("console-a.log")) + GuestRun.read(work.resolve("console-b.log"));
        result = new GuestResult(
                console,
                daemonALog + daemonBLog + GuestRun.read(work.resolve("qemu-a.log")) + qemuBLog,
                null,
                null,
                null,
                0,
                0,
                0);
    }

    private Process startDaemon(String side, List<String> argv, List<Process> all)
            throws IOException, InterruptedException {
        Path log = work.resolve("daemon-" + side + ".log");
        Files.writeString(work.resolve("daemon-" + side + ".cmd"), String.join(" ", argv) + "\n");
        Process d = new ProcessBuilder(argv)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        all.add(d);
        Path socket = Paths.get(argv.get(argv.indexOf("--socket-path") + 1));
        long t0 = System.nanoTime();
        while (!GuestRun.listening(socket, d.toHandle())) {
            if (!d.isAlive() || System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(60)) {
                throw new IOException("daemon " + side + " is not listening on " + socket + ", log:\n"
                        + GuestResult.tail(GuestRun.read(log), 30));
            }
            Thread.sleep(20);
        }
        return d;
    }

    private Process startQemu(String side, Path qemu10, Path kernel, Path initramfs, String incoming, List<Process> all)
            throws IOException {
        List<String> q = new ArrayList<>(List.of(
                "/bin/sh",
                qemu10.toString(),
                "--bind",
                sock.toString(),
                "--bind",
                work.toString(),
                "--bind",
                kernel.toString(),
                "--bind",
                initramfs.getParent().toString(),
                "--",
                "-accel",
                "tcg",
                "-m",
                "512",
                "-nodefaults",
                "-no-user-config",
                "-display",
                "none",
                "-object",
                "memory-backend-memfd,id=mem,size=512M,share=on",
                "-numa",
                "node,memdev=mem",
                "-chardev",
                "socket,id=c,path=" + sock.resolve(side + ".sock"),
                "-device",
                "vhost-user-fs-pci,queue-size=1024,chardev=c,tag=myfs",
                "-kernel",
                kernel.resolve("vmlinuz").toString(),
                "-initrd",
                initramfs.toString(),
                "-append",
                "console=ttyS0 quiet panic=-1 vfstest.workload=migrate vfstest.xattr=0",
                "-serial",
                "file:" + work.resolve("console-" + side + ".log"),
                "-qmp",
                "unix:" + sock.resolve("qmp-" + side + ".sock") + ",server=on,wait=off",
                "-no-reboot"));
        if (incoming != null) {
            q.add("-incoming");
            q.add(incoming);
        }
        Files.writeString(work.resolve("qemu-" + side + ".cmd"), String.join(" ", q) + "\n");
        Process p = new ProcessBuilder(q)
                .redirectErrorStream(true)
                .redirectOutput(work.resolve("qemu-" + side + ".log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        all.add(p);
        return p;
    }

    private interface Condition {
        boolean holds() throws IOException;
    }

    private void waitFor(Condition c, Process watched, String what, long deadline)
            throws IOException, InterruptedException {
        while (!c.holds()) {
            if (System.nanoTime() > deadline) {
                throw new IOException("timed out waiting for " + what);
            }
            if (watched != null && !watched.isAlive()) {
                throw new IOException(what + ": QEMU exited with " + watched.exitValue());
            }
            Thread.sleep(100);
        }
    }

    private void waitForConsole(String side, String marker, Process qemu, long deadline)
            throws IOException, InterruptedException {
        Path console = work.resolve("console-" + side + ".log");
        waitFor(() -> GuestRun.read(console).contains(marker), qemu, "'" + marker + "' on console " + side, deadline);
    }

    private static void waitForExit(Process p, long deadline) throws InterruptedException, IOException {
        long left = deadline - System.nanoTime();
        if (left <= 0 || !p.waitFor(left, TimeUnit.NANOSECONDS)) {
            throw new IOException("QEMU did not finish in time");
        }
    }

    private static boolean running(Path qmpSocket) {
        if (!Files.exists(qmpSocket)) {
            return false;
        }
        try (Qmp b = Qmp.connect(qmpSocket, System.nanoTime() + TimeUnit.SECONDS.toNanos(5))) {
            return b.command("{\"execute\":\"query-status\"}").contains("\"running\"");
        } catch (IOException e) {
            return false;
        }
    }

    /** A minimal QMP client: one command at a time, events skipped. */
    static final class Qmp implements AutoCloseable {
        private final SocketChannel ch;
        private final StringBuilder pending = new StringBuilder();

        private Qmp(SocketChannel ch) {
            this.ch = ch;
        }

        static Qmp connect(Path path, long deadline) throws IOException {
            while (true) {
                try {
                    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                    try {
                        ch.connect(UnixDomainSocketAddress.of(path));
                    } catch (IOException e) {
                        ch.close();
                        throw e;
                    }
                    Qmp q = new Qmp(ch);
                    q.line(); // greeting
                    q.command("{\"execute\":\"qmp_capabilities\"}");
                    return q;
                } catch (IOException e) {
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        throw new IOException("interrupted", ie);
                    }
                }
            }
        }

        String command(String json) throws IOException {
            ByteBuffer b = ByteBuffer.wrap((json + "\n").getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            while (true) {
                String l = line();
                if (l.contains("\"return\"") || l.contains("\"error\"")) {
                    return l;
                }
            }
        }

        private String line() throws IOException {
            ByteBuffer b = ByteBuffer.allocate(4096);
            while (true) {
                int nl = pending.indexOf("\n");
                if (nl >= 0) {
                    String l = pending.substring(0, nl);
                    pending.delete(0, nl + 1);
                    return l;
                }
                b.clear();
                if (ch.read(b) < 0) {
                    throw new IOException("QMP connection closed");
                }
                b.flip();
                pending.append(StandardCharsets.UTF_8.decode(b));
            }
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }
}
