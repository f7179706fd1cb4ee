package dev.virtiofsd.it.guest;

import dev.virtiofsd.frontend.guest.DaemonSocket;
import dev.virtiofsd.frontend.guest.QemuCommand;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One guest run: a daemon serving a fresh shared directory, QEMU (TCG) booting the busybox
 * initramfs against it, the serial console captured to a file, a hard timeout on everything.
 *
 * <pre>
 * GuestRun run = GuestRun.prepare("mount-never");
 * GuestResult r = run.execute(DaemonCommand.selected(run.sharedDir(), run.socket(), "never", false),
 *                             "mount", false, false);
 * </pre>
 * Logs stay in {@link #workDir()} (console.log, daemon.log, qemu.log) for post-mortems.
 */
public final class GuestRun {
    private final Path workDir;
    private final Path sharedDir;
    private final Path socketDir;
    private final Path socket;
    private int requestQueues = 1;
    private String kernelArgs = "";
    private java.util.function.LongConsumer whileServing;
    /** More vhost-user-fs devices: tag, daemon, its socket (started before QEMU, waited for after). */
    private final List<Device> extra = new ArrayList<>();

    private record Device(String tag, DaemonCommand daemon, Path socket) {}

    private GuestRun(Path workDir, Path sharedDir, Path socketDir) {
        this.workDir = workDir;
        this.sharedDir = sharedDir;
        this.socketDir = socketDir;
        this.socket = socketDir.resolve("vhost.sock");
    }

    /** A clean work dir under {@link GuestEnvironment#workRoot()} and a short socket path in /tmp. */
    public static GuestRun prepare(String name) throws IOException {
        Path work = GuestEnvironment.workRoot().resolve(name);
        deleteTree(work);
        Path shared = Files.createDirectories(work.resolve("shared"));
        // sun_path holds 108 bytes: keep the socket out of deep build directories
        Path sockDir = Files.createTempDirectory(Paths.get("/tmp"), "vfsg");
        return new GuestRun(work, shared, sockDir);
    }

    public Path workDir() {
        return workDir;
    }

    public Path sharedDir() {
        return sharedDir;
    }

    public Path socket() {
        return socket;
    }

    /** Extra words for the guest kernel's command line (e.g. "selinux=1 security=selinux"). */
    public GuestRun kernelArgs(String args) {
        this.kernelArgs = args == null ? "" : args.strip();
        return this;
    }

    /** Called on a thread of its own with the daemon's pid once it listens, while the guest runs. */
    public GuestRun whileServing(java.util.function.LongConsumer watcher) {
        this.whileServing = watcher;
        return this;
    }

    /**
     * Another vhost-user-fs device with tag {@code tag}, served by {@code daemon} on {@code socket}
     * (one guest boot for several daemons). Its log is daemon-TAG.log; it must listen before QEMU
     * starts and exit 0 once QEMU is gone, like the main daemon.
     */
    public GuestRun extraDevice(String tag, DaemonCommand daemon, Path socket) {
        extra.add(new Device(tag, daemon, socket));
        return this;
    }

    /** A socket path for an extra device, in this run's short socket directory. */
    public Path extraSocket(String tag) {
        return socketDir.resolve(tag + ".sock");
    }

    /** QEMU's num-request-queues (Linux 6.1 still sends on the first one only). */
    public GuestRun requestQueues(int n) {
        this.requestQueues = n;
        return this;
    }

    /**
     * Runs the daemon and one guest.
     *
     * @param workload    guest/workload-NAME.sh to run after the mount
     * @param xattr       tells the workload whether the daemon was given --xattr
     * @param allowReboot without it QEMU runs with -no-reboot (a guest reboot ends the run)
     */
    public GuestResult execute(DaemonCommand daemon, String workload, boolean xattr, boolean allowReboot)
            throws IOException, InterruptedException {
        Path kernel;
        Path initramfs;
        try {
            kernel = GuestEnvironment.kernelDir();
            initramfs = GuestImage.initramfs();
        } catch (IOException | InterruptedException | RuntimeException e) {
            deleteTree(socketDir);
            throw e;
        }
        Path console = workDir.resolve("console.log");
        Path daemonLog = workDir.resolve("daemon.log");
        Path qemuLog = workDir.resolve("qemu.log");
        Files.writeString(workDir.resolve("daemon.cmd"), daemon + "\n");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(GuestEnvironment.timeoutSeconds());

        List<Process> extraDaemons = new ArrayList<>();
        for (Device dev : extra) {
            Files.writeString(workDir.resolve("daemon-" + dev.tag() + ".cmd"), dev.daemon() + "\n");
            extraDaemons.add(new ProcessBuilder(dev.daemon().argv())
                    .redirectErrorStream(true)
                    .redirectOutput(
                            workDir.resolve("daemon-" + dev.tag() + ".log").toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start());
        }
        long t0 = System.nanoTime();
        Process d = new ProcessBuilder(daemon.argv())
                .redirectErrorStream(true)
                .redirectOutput(daemonLog.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        Process q = null;
        Integer qemuExit = null;
        Integer daemonExit = null;
        String stopReason = null;
        long daemonStart = 0;
        long guest = 0;
        long daemonExitAfter = -1;
        try {
            // Listening, not just bound: QEMU's connect would be refused between bind and listen.
            while (!listening(socket, d.toHandle())) {
                if (!d.isAlive()) {
                    throw new IOException("daemon exited with " + d.exitValue() + " before listening on " + socket
                            + ", log tail:\n" + GuestResult.tail(read(daemonLog), 30));
                }
                if (System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(60)) {
                    throw new IOException("daemon did not listen on " + socket + " within 60 s, log tail:\n"
                            + GuestResult.tail(read(daemonLog), 30));
                }
                Thread.sleep(20);
            }
            daemonStart = (System.nanoTime() - t0) / 1_000_000;
            for (int i = 0; i < extra.size(); i++) {
                Device dev = extra.get(i);
                Path devLog = workDir.resolve("daemon-" + dev.tag() + ".log");
                while (!listening(dev.socket(), extraDaemons.get(i).toHandle())) {
                    if (!extraDaemons.get(i).isAlive()) {
                        throw new IOException("daemon " + dev.tag() + " exited with "
                                + extraDaemons.get(i).exitValue() + " before listening, log tail:\n"
                                + GuestResult.tail(read(devLog), 30));
                    }
                    if (System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(90)) {
                        throw new IOException("daemon " + dev.tag() + " did not listen within 90 s, log tail:\n"
                                + GuestResult.tail(read(devLog), 30));
                    }
                    Thread.sleep(20);
                }
            }

            QemuCommand cmd = QemuCommand.x86(1024)
                    .virtiofs("c", socket, "myfs", requestQueues)
                    .boot(
                            kernel,
                            initramfs,
                            "console=ttyS0 quiet panic=-1 vfstest.workload=" + workload + " vfstest.xattr="
                                    + (xattr ? 1 : 0) + (kernelArgs.isEmpty() ? "" : " " + kernelArgs))
                    .console(console);
            for (Device dev : extra) {
                cmd.virtiofs("c-" + dev.tag(), dev.socket(), dev.tag(), 1);
            }
            if (!allowReboot) cmd.noReboot();
            List<String> qemu = cmd.argv();
            Files.writeString(workDir.resolve("qemu.cmd"), String.join(" ", qemu) + "\n");
            long g0 = System.nanoTime();
            Thread watcher = null;
            if (whileServing != null) {
                long pid = d.pid();
                java.util.function.LongConsumer w = whileServing;
                watcher = new Thread(() -> w.accept(pid), "guest-run-watcher");
                watcher.setDaemon(true);
                watcher.start();
            }
            q = new ProcessBuilder(qemu)
                    .redirectErrorStream(true)
                    .redirectOutput(qemuLog.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            // Poll rather than waitFor: a reboot loop (panic=-1 without -no-reboot) and a guest
            // stuck in one step (e.g. umount waiting for lost hiprio descriptors) end early.
            long idleLimit = TimeUnit.SECONDS.toNanos(GuestEnvironment.idleSeconds());
            long lastGrowth = System.nanoTime();
            long lastSize = -1;
            while (!q.waitFor(500, TimeUnit.MILLISECONDS)) {
                long now = System.nanoTime();
                if (now > deadline) {
                    stopReason = "hard timeout of " + GuestEnvironment.timeoutSeconds() + " s";
                    break;
                }
                long size = Files.exists(console) ? Files.size(console) : 0;
                if (size != lastSize) {
                    lastSize = size;
                    lastGrowth = now;
                } else if (now - lastGrowth > idleLimit) {
                    stopReason = "no console output for " + GuestEnvironment.idleSeconds() + " s";
                    break;
                }
                if (allowReboot && count(read(console), "GUEST-BOOT ") > 3) {
                    stopReason = "reboot loop";
                    break;
                }
            }
            if (q.isAlive()) {
                kill(q);
            } else {
                qemuExit = q.exitValue();
            }
            guest = (System.nanoTime() - g0) / 1_000_000;

            // The front end is gone: like virtiofsd, the daemon must now exit by itself.
            long e0 = System.nanoTime();
            if (d.waitFor(20, TimeUnit.SECONDS)) {
                daemonExit = d.exitValue();
                daemonExitAfter = (System.nanoTime() - e0) / 1_000_000;
            }
            for (int i = 0; i < extra.size(); i++) {
                Process x = extraDaemons.get(i);
                if (!x.waitFor(20, TimeUnit.SECONDS) || x.exitValue() != 0) {
                    // the main daemon's status stands for all: a failed extra one fails the run
                    daemonExit = x.isAlive() ? null : (Integer) x.exitValue();
                    stopReason = (stopReason == null ? "" : stopReason + "; ") + "daemon "
                            + extra.get(i).tag() + (x.isAlive() ? " did not exit" : " exited with " + x.exitValue());
                }
            }
        } finally {
            if (q != null && q.isAlive()) kill(q);
            if (d.isAlive()) kill(d);
            for (Process x : extraDaemons) {
                if (x.isAlive()) kill(x);
            }
            Files.deleteIfExists(socket);
            deleteTree(socketDir);
        }
        StringBuilder logs = new StringBuilder(read(daemonLog));
        for (Device dev : extra) {
            logs.append("\n--- daemon ")
                    .append(dev.tag())
                    .append(" ---\n")
                    .append(read(workDir.resolve("daemon-" + dev.tag() + ".log")));
        }
        return new GuestResult(
                read(console),
                logs + read(qemuLog),
                qemuExit,
                daemonExit,
                stopReason,
                daemonStart,
                guest,
                daemonExitAfter);
    }

    /** Deletes the shared dir contents (the 64 MiB file) once a run has been checked. */
    public void deleteSharedDir() throws IOException {
        deleteTree(sharedDir);
    }

    private static void kill(Process p) throws InterruptedException {
        List<ProcessHandle> children = p.descendants().toList();
        p.destroy();
        children.forEach(ProcessHandle::destroy);
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
        children.forEach(ProcessHandle::destroyForcibly);
    }

    /** See {@link DaemonSocket#listening}. */
    public static boolean listening(Path socket, ProcessHandle daemon) throws IOException {
        return DaemonSocket.listening(socket, daemon);
    }

    private static int count(String text, String marker) {
        int n = 0;
        for (int i = text.indexOf(marker); i >= 0; i = text.indexOf(marker, i + 1)) n++;
        return n;
    }

    static String read(Path file) {
        try {
            return Files.exists(file) ? new String(Files.readAllBytes(file), StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "<" + e + ">";
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
