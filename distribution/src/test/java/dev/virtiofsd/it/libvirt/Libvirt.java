package dev.virtiofsd.it.libvirt;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The machine's libvirt (Debian's libvirt-daemon-system, installed by .ci/install-deps.sh) for the
 * tests: there is no systemd here, so virtlogd and libvirtd are started as daemons when they do not
 * answer, and stopped again by {@link #close()} if this class started them.
 */
final class Libvirt implements AutoCloseable {
    static final String URI = "qemu:///system";
    private final List<String> started = new ArrayList<>();

    static String run(long seconds, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + ": no answer in " + seconds + " s");
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out.strip());
        }
        return out;
    }

    static boolean answers() {
        try {
            run(20, "virsh", "-c", URI, "version");
            return true;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /** Starts virtlogd and libvirtd unless libvirt answers already. */
    static Libvirt ensureRunning() throws Exception {
        for (String bin : new String[] {"/usr/sbin/libvirtd", "/usr/sbin/virtlogd", "/usr/bin/virsh"}) {
            if (!Files.isExecutable(Paths.get(bin))) {
                throw new IllegalStateException(bin + " missing: .ci/install-deps.sh installs libvirt-daemon-system");
            }
        }
        Libvirt l = new Libvirt();
        if (answers()) {
            return l;
        }
        if (!running("/run/virtlogd.pid")) {
            run(30, "/usr/sbin/virtlogd", "-d");
            l.started.add("/run/virtlogd.pid");
        }
        if (!running("/run/libvirtd.pid")) {
            run(30, "/usr/sbin/libvirtd", "-d");
            l.started.add("/run/libvirtd.pid");
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!answers()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("libvirtd started but virsh -c " + URI + " gets no answer");
            }
            Thread.sleep(200);
        }
        return l;
    }

    private static boolean running(String pidFile) {
        try {
            long pid = Long.parseLong(Files.readString(Paths.get(pidFile)).strip());
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        } catch (IOException | NumberFormatException e) {
            return false;
        }
    }

    @Override
    public void close() {
        // libvirtd first: it holds virtlogd's socket
        for (int i = started.size() - 1; i >= 0; i--) {
            try {
                long pid = Long.parseLong(
                        Files.readString(Paths.get(started.get(i))).strip());
                ProcessHandle.of(pid).ifPresent(h -> {
                    h.destroy();
                    try {
                        h.onExit().get(30, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        h.destroyForcibly();
                    }
                });
            } catch (IOException | NumberFormatException e) {
                // not running any more
            }
        }
    }
}
