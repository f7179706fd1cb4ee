package dev.virtiofsd.it.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.it.example.ExampleBuild;
import dev.virtiofsd.it.live.Ctl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * One guest boot, six devices. On tags myfs and update a guest copies and checksums a tree round after
 * round while the host changes what serves it, through each daemon's control socket:
 * <ul>
 *   <li>myfs: a daemon in the default sandbox ({@code --sandbox namespace --seccomp kill}); the host
 *       switches the strategy fd -> handle-preferred -> fd -> handle-preferred, stops and starts the
 *       handle strategies' bundle, and converts fd inodes to handles. An {@code update} of a bundle is
 *       refused there with one line: the sandboxed daemon cannot read a new revision from the host.
 *   <li>update: a daemon with {@code --sandbox none} (seccomp kill), so {@code update} works; the host
 *       switches fd -> handle-preferred -> fd -> handle-preferred, updates the handle strategies'
 *       bundle while it is the current strategy, switches to fd, updates it again while only inodes
 *       it made use it, and switches on. Each update must leave the bundle ACTIVE with the same id
 *       and a later last-modified time (a new revision), and the strategy must come back.
 * </ul>
 * Nothing fails, every copy checks, stats counted inodes of both kinds at once on both daemons, and
 * the daemons exit 0 (seccomp killed nothing). Tags libvirt, kata and hardened are daemons started
 * with those deployment profiles (the guest writes through the first two; hardened is read-only and
 * refuses every change). Tag hybrid is served with the third-party example strategy
 * (examples/hybrid-strategy, built from its own pom) from --bundles.
 */
class LiveSwitchGuestIT {
    @Test
    void guestCopiesWhileStrategiesSwitchAndEveryProfileServes() throws Exception {
        GuestSupport.assumeDaemonAvailable();
        org.junit.jupiter.api.Assumptions.assumeFalse(GuestEnvironment.usePeer(), "our daemon's control socket");
        GuestRun run = GuestRun.prepare("live-switch");
        Path shared = run.sharedDir();
        Path ctl = run.extraSocket("ctl");
        Path launcher = GuestEnvironment.ourLauncher();
        DaemonCommand main = new DaemonCommand(
                "virtiofsd-java",
                List.of(
                        launcher.toString(),
                        "--shared-dir",
                        shared.toString(),
                        "--socket-path",
                        run.socket().toString(),
                        "--control-socket",
                        ctl.toString(),
                        "--sandbox",
                        "namespace",
                        "--seccomp",
                        "kill"));
        for (String profile : List.of("libvirt", "kata", "hardened")) {
            Path dir = Files.createDirectories(run.workDir().resolve("shared-" + profile));
            Files.writeString(dir.resolve("from-host"), "host " + profile + "\n");
            run.extraDevice(
                    profile,
                    new DaemonCommand(
                            profile,
                            List.of(
                                    launcher.toString(),
                                    "--profile",
                                    profile,
                                    "--shared-dir",
                                    dir.toString(),
                                    "--socket-path",
                                    run.extraSocket(profile).toString())),
                    run.extraSocket(profile));
        }

        // The third-party example strategy, built from its own pom, dropped into --bundles DIR.
        // In a private temporary directory (0700, under sticky /tmp): the daemon checks every directory
        // above --bundles, and the work directory may have been made under a umask of 0 in this JVM.
        Path bundleParent = Files.createTempDirectory(java.nio.file.Paths.get("/tmp"), "live-switch-bundles");
        Path bundles = ExampleBuild.trustedBundleDir(bundleParent);
        Path hybridShare = Files.createDirectories(run.workDir().resolve("shared-hybrid"));
        Files.writeString(hybridShare.resolve("from-host"), "host hybrid\n");
        run.extraDevice(
                "hybrid",
                new DaemonCommand(
                        "hybrid",
                        List.of(
                                launcher.toString(),
                                "--shared-dir",
                                hybridShare.toString(),
                                "--socket-path",
                                run.extraSocket("hybrid").toString(),
                                "--bundles",
                                bundles.toString(),
                                "--strategy",
                                "hybrid")),
                run.extraSocket("hybrid"));

        // A daemon without sandbox: it can read a new revision of a strategy bundle from the host.
        Path updShare = Files.createDirectories(run.workDir().resolve("shared-update"));
        Path updCtl = run.extraSocket("uctl");
        run.extraDevice(
                "update",
                new DaemonCommand(
                        "update",
                        List.of(
                                launcher.toString(),
                                "--shared-dir",
                                updShare.toString(),
                                "--socket-path",
                                run.extraSocket("update").toString(),
                                "--control-socket",
                                updCtl.toString(),
                                "--sandbox",
                                "none")),
                run.extraSocket("update"));

        // The host's side: one thread per daemon waits for the guest to start copying, then changes
        // strategies (and bundles) under it.
        HostSide sandboxed = new HostSide(ctl, shared, false, new String[][] {
            {"strategy", "handle-preferred"},
            {"strategy", "fd"},
            {"strategy", "handle-preferred"},
            {"update", HANDLE_BUNDLE},
            {"stop", HANDLE_BUNDLE},
            {"start", HANDLE_BUNDLE},
            {"strategy", "fd"},
            {"strategy", "handle-preferred"},
            {"convert", "100000"},
        });
        HostSide updating = new HostSide(updCtl, updShare, true, new String[][] {
            {"strategy", "handle-preferred"},
            {"strategy", "fd"},
            {"strategy", "handle-preferred"},
            {"update", HANDLE_BUNDLE}, // the current strategy's bundle
            {"strategy", "fd"},
            {"update", HANDLE_BUNDLE}, // a bundle whose strategy only older inodes have
            {"strategy", "handle-preferred"},
            {"strategy", "fd"},
        });
        sandboxed.start();
        updating.start();
        GuestResult r;
        try {
            r = run.execute(main, "live", false, false);
        } finally {
            sandboxed.join(120_000);
            updating.join(120_000);
        }
        System.out.println("host steps, myfs (default sandbox):\n  " + String.join("\n  ", sandboxed.log));
        System.out.println("host steps, update (--sandbox none):\n  " + String.join("\n  ", updating.log));
        assertNull(sandboxed.failure, () -> "host side, myfs: " + sandboxed.failure + "\n" + r_describe(run));
        assertNull(updating.failure, () -> "host side, update: " + updating.failure + "\n" + r_describe(run));
        GuestSupport.assertCleanRun(
                r,
                List.of(
                        "mount",
                        "make-tree",
                        "mount-update",
                        "copy-while-switching",
                        "verify-all-copies",
                        "profile-libvirt",
                        "profile-kata",
                        "profile-hardened",
                        "hybrid-strategy",
                        "umount"),
                1);
        assertEquals(9, sandboxed.log.size(), sandboxed.log::toString);
        assertEquals(8, updating.log.size(), updating.log::toString);
        assertTrue(
                sandboxed.bothKinds, () -> "myfs: stats never showed fd and handle inodes at once: " + sandboxed.log);
        assertTrue(
                updating.bothKinds, () -> "update: stats never showed fd and handle inodes at once: " + updating.log);
        assertEquals(2, updating.updates.get(), "both updates ran and made a new revision");
        assertTrue(Integer.parseInt(r.values.get("rounds")) >= 3, r.values::toString);
        assertTrue(r.daemonLog.contains("strategy handle-preferred went away"), "the bundle stop was seen");
        assertTrue(
                r.daemonLog.contains("in new mount, net and ipc namespaces; seccomp kill;"),
                "the switching daemon ran in the default sandbox");
        assertFalse(r.daemonLog.contains(" ERROR "), r.daemonLog);
        String updLog = Files.readString(run.workDir().resolve("daemon-update.log"));
        assertTrue(
                updLog.contains("strategy handle-preferred went away (bundle stopped or updated)"),
                "the update of the current strategy's bundle was seen: " + updLog);
        assertTrue(
                updLog.contains("new inodes get strategy handle-preferred (was fallback-fd)"),
                "the updated bundle's strategy came back: " + updLog);
        assertFalse(updLog.contains(" ERROR "), updLog);
        assertTrue(Files.isDirectory(updShare.resolve("copy1/a3/b2")), "the guest's copies on the update share");
        for (String profile : List.of("libvirt", "kata")) {
            assertEquals(
                    "guest " + profile + "\n",
                    Files.readString(run.workDir().resolve("shared-" + profile).resolve("from-guest")));
        }
        assertFalse(Files.exists(run.workDir().resolve("shared-hardened").resolve("from-guest")));
        assertEquals("guest hybrid\n", Files.readString(hybridShare.resolve("from-guest")));
        assertTrue(Files.isDirectory(hybridShare.resolve("copy/a3/b2")), "the guest's tree copy on the host");
        assertTrue(Files.exists(run.workDir().resolve("shared-hardened").resolve("from-host")));
        run.deleteSharedDir();
        Files.delete(bundles.resolve("hybrid-strategy.jar"));
        Files.delete(bundles);
        Files.delete(bundleParent);
    }

    private static final String HANDLE_BUNDLE = "dev.virtiofsd.strategy.handle";

    private static String r_describe(GuestRun run) {
        return "work dir " + run.workDir();
    }

    /**
     * The host's side for one daemon: waits for the guest's {@code .guest-started} in the share, runs
     * the steps through the control socket 1.5 s apart with {@code stats} after each, then writes
     * {@code .switch-done}. An {@code update} must succeed where the daemon has no sandbox and be
     * refused with one line where it has.
     */
    private static final class HostSide extends Thread {
        final Path ctl;
        final Path shared;
        final String[][] steps;
        /** Without sandbox {@code update} must make a new revision; in the sandbox it must be refused. */
        final boolean updateWorks;

        final List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
        volatile Throwable failure;
        volatile boolean bothKinds;
        /** Updates that made a new revision of the bundle. */
        final java.util.concurrent.atomic.AtomicInteger updates = new java.util.concurrent.atomic.AtomicInteger();

        HostSide(Path ctl, Path shared, boolean updateWorks, String[][] steps) {
            super("live-switch-host-" + shared.getFileName());
            this.ctl = ctl;
            this.shared = shared;
            this.updateWorks = updateWorks;
            this.steps = steps;
        }

        @Override
        public void run() {
            try {
                long deadline = System.currentTimeMillis() + GuestEnvironment.timeoutSeconds() * 1000;
                while (!Files.exists(shared.resolve(".guest-started"))) {
                    if (System.currentTimeMillis() > deadline) {
                        throw new AssertionError("the guest never started copying into " + shared);
                    }
                    Thread.sleep(100);
                }
                for (String[] step : steps) {
                    Thread.sleep(1500);
                    String out = step[0].equals("update")
                            ? update(step[1])
                            : Ctl.ok(ctl, step).trim();
                    String stats = Ctl.ok(ctl, "stats");
                    Map<String, Long> kinds = Ctl.numbers(stats, "inodesByKind");
                    if (kinds.getOrDefault("fd", 0L) > 0 && kinds.getOrDefault("handle", 0L) > 0) {
                        bothKinds = true;
                    }
                    log.add(String.join(" ", step) + " -> " + out + "; inodesByKind " + kinds + ", inode fds "
                            + Ctl.number(stats, "inodeFds") + ", process fds " + Ctl.number(stats, "openFds"));
                }
                Thread.sleep(1500);
            } catch (Throwable t) {
                failure = t;
            } finally {
                try {
                    Files.writeString(shared.resolve(".switch-done"), "");
                } catch (java.io.IOException e) {
                    if (failure == null) failure = e;
                }
            }
        }

        private String update(String bsn) throws Exception {
            String before = bundleLine(bsn);
            String strategy = Ctl.ok(ctl, "strategy").trim();
            Ctl.Result r = Ctl.call(ctl, "update", bsn);
            if (!updateWorks) {
                // In the sandbox the host's bundle jars are out of reach: refused before Felix stops anything.
                if (r.status() != 1
                        || !r.out().contains("restart it to load a new revision")
                        || r.out().lines().count() != 1) {
                    throw new AssertionError("update in the sandbox: " + r);
                }
                if (!before.equals(bundleLine(bsn))) {
                    throw new AssertionError(
                            "a refused update changed the bundle: " + before + " / " + bundleLine(bsn));
                }
                return "refused: " + r.out().trim();
            }
            if (r.status() != 0 || !r.out().contains(bsn + " updated to ")) {
                throw new AssertionError("update " + bsn + ": " + r);
            }
            String after = bundleLine(bsn);
            // id, state, name, version, last modified: the same bundle, running, a new revision
            String[] b = before.split("\t", -1);
            String[] a = after.split("\t", -1);
            if (a.length != 5 || b.length != 5 || !a[0].equals(b[0]) || !a[1].equals("ACTIVE")) {
                throw new AssertionError("after update " + bsn + ": " + before + " -> " + after);
            }
            java.time.Instant was = java.time.Instant.parse(b[4]);
            java.time.Instant now = java.time.Instant.parse(a[4]);
            if (!now.isAfter(was)) {
                throw new AssertionError(
                        "update " + bsn + " made no new revision: last modified " + was + " -> " + now);
            }
            updates.incrementAndGet();
            // New inodes get the strategy they got before (the updated bundle's is registered again by
            // SCR after the refresh; meanwhile the filesystem's own O_PATH fds, "fallback-fd").
            long until = System.currentTimeMillis() + 20_000;
            for (String s = Ctl.ok(ctl, "strategy").trim();
                    !s.equals(strategy);
                    s = Ctl.ok(ctl, "strategy").trim()) {
                if (System.currentTimeMillis() > until) {
                    throw new AssertionError("after update " + bsn + " the strategy is " + s + ", not " + strategy);
                }
                Thread.sleep(200);
            }
            return r.out().trim() + " (bundles: " + after + ")";
        }

        private String bundleLine(String bsn) throws Exception {
            for (String line : Ctl.ok(ctl, "bundles").split("\n", -1)) {
                if (line.contains("\t" + bsn + "\t")) {
                    return line;
                }
            }
            throw new AssertionError("no bundle " + bsn);
        }
    }
}
