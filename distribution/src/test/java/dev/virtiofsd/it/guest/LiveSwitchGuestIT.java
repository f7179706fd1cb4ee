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
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * One guest boot, five devices. On tag myfs a guest copies and checksums a tree round after round
 * while the host, through the control socket of a daemon in the default sandbox ({@code --sandbox
 * namespace --seccomp kill}), switches the strategy fd -> handle-preferred -> fd -> handle-preferred,
 * stops and starts the handle strategies' bundle, and converts fd inodes to handles: nothing fails,
 * every copy checks, stats counted inodes of both kinds at once, and the daemon exits 0 (seccomp
 * killed nothing). An {@code update} of a bundle is refused there with one line: the sandboxed
 * daemon cannot read a new revision from the host (LiveCompositionIT updates one without sandbox). Tags libvirt,
 * kata and hardened are daemons started with those deployment profiles (the guest writes through
 * the first two; hardened is read-only and refuses every change). Tag hybrid is served with the
 * third-party example strategy (examples/hybrid-strategy, built from its own pom) from --bundles.
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

        // The host's side: waits for the guest to start copying, then changes strategies under it.
        List<String> log = new ArrayList<>();
        AtomicReference<Throwable> hostFailure = new AtomicReference<>();
        boolean[] bothKinds = {false};
        Thread host = new Thread(() -> {
            try {
                long deadline = System.currentTimeMillis() + GuestEnvironment.timeoutSeconds() * 1000;
                while (!Files.exists(shared.resolve(".guest-started"))) {
                    if (System.currentTimeMillis() > deadline) {
                        throw new AssertionError("the guest never started copying");
                    }
                    Thread.sleep(100);
                }
                String[][] steps = {
                    {"strategy", "handle-preferred"},
                    {"strategy", "fd"},
                    {"strategy", "handle-preferred"},
                    {"update", "dev.virtiofsd.strategy.handle"},
                    {"stop", "dev.virtiofsd.strategy.handle"},
                    {"start", "dev.virtiofsd.strategy.handle"},
                    {"strategy", "fd"},
                    {"strategy", "handle-preferred"},
                    {"convert", "100000"},
                };
                for (String[] step : steps) {
                    Thread.sleep(1500);
                    String out;
                    if (step[0].equals("update")) {
                        // In the sandbox the host's bundle jars are out of reach: refused before Felix stops anything.
                        Ctl.Result refused = Ctl.call(ctl, step);
                        if (refused.status() != 1
                                || !refused.out().contains("restart it to load a new revision")
                                || refused.out().lines().count() != 1) {
                            throw new AssertionError("update in the sandbox: " + refused);
                        }
                        out = "refused: " + refused.out().trim();
                    } else {
                        out = Ctl.ok(ctl, step).trim();
                    }
                    String stats = Ctl.ok(ctl, "stats");
                    Map<String, Long> kinds = Ctl.numbers(stats, "inodesByKind");
                    bothKinds[0] |= kinds.getOrDefault("fd", 0L) > 0 && kinds.getOrDefault("handle", 0L) > 0;
                    synchronized (log) {
                        log.add(String.join(" ", step) + " -> " + out + "; inodesByKind " + kinds + ", inode fds "
                                + Ctl.number(stats, "inodeFds") + ", process fds " + Ctl.number(stats, "openFds"));
                    }
                }
                Thread.sleep(1500);
            } catch (Throwable t) {
                hostFailure.set(t);
            } finally {
                try {
                    Files.writeString(shared.resolve(".switch-done"), "");
                } catch (java.io.IOException e) {
                    hostFailure.compareAndSet(null, e);
                }
            }
        });
        host.start();
        GuestResult r;
        try {
            r = run.execute(main, "live", false, false);
        } finally {
            host.join(120_000);
        }
        System.out.println("host steps:\n  " + String.join("\n  ", log));
        assertNull(hostFailure.get(), () -> "host side: " + hostFailure.get() + "\n" + r_describe(run));
        GuestSupport.assertCleanRun(
                r,
                List.of(
                        "mount",
                        "make-tree",
                        "copy-while-switching",
                        "verify-all-copies",
                        "profile-libvirt",
                        "profile-kata",
                        "profile-hardened",
                        "hybrid-strategy",
                        "umount"),
                1);
        assertEquals(9, log.size(), log::toString);
        assertTrue(bothKinds[0], () -> "stats never showed fd and handle inodes at once: " + log);
        assertTrue(Integer.parseInt(r.values.get("rounds")) >= 3, r.values::toString);
        assertTrue(r.daemonLog.contains("strategy handle-preferred went away"), "the bundle stop was seen");
        assertTrue(
                r.daemonLog.contains("in new mount, net and ipc namespaces; seccomp kill;"),
                "the switching daemon ran in the default sandbox");
        assertFalse(r.daemonLog.contains(" ERROR "), r.daemonLog);
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

    private static String r_describe(GuestRun run) {
        return "work dir " + run.workDir();
    }
}
