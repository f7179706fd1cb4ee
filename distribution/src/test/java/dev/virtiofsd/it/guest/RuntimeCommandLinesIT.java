package dev.virtiofsd.it.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The command lines container runtimes build for virtiofsd, given to ours, and a guest mounts
 * through the daemon they start: Kata Containers' (runtime virtiofsd.go: --syslog --cache=auto
 * --shared-dir=DIR --fd=3, the listening socket inherited as fd 3, plus configuration-qemu.toml's
 * virtio_fs_extra_args --thread-pool-size=1 --announce-submounts) and Talos' (provisioner
 * virtiofsd.go: --shared-dir DIR --socket-path SOCK --announce-submounts
 * --inode-file-handles=mandatory).
 */
class RuntimeCommandLinesIT {
    private static GuestResult smoke(GuestRun run, List<String> argv) throws Exception {
        Files.writeString(run.sharedDir().resolve("from-host"), "host\n");
        GuestResult r = run.execute(new DaemonCommand("runtime", argv), "smoke", false, false);
        GuestSupport.assertCleanRun(r, List.of("mount", "read-host", "write", "umount"), 1);
        assertEquals("guest\n", Files.readString(run.sharedDir().resolve("from-guest")));
        return r;
    }

    @Test
    void kataStartsTheDaemonOnAnInheritedSocket() throws Exception {
        GuestSupport.assumeDaemonAvailable();
        GuestRun run = GuestRun.prepare("kata");
        // systemd-socket-activate listens and hands the socket over as fd 3, as Kata's runtime does
        // (ExtraFiles[0] of its exec.Cmd)
        Path activate = Paths.get("/usr/bin/systemd-socket-activate");
        assertTrue(
                Files.isExecutable(activate),
                "systemd-socket-activate (package systemd) comes with .ci/install-deps.sh");
        List<String> argv = new ArrayList<>(List.of(activate.toString(), "--listen=" + run.socket()));
        argv.add(
                GuestEnvironment.usePeer()
                        ? GuestEnvironment.peerBinary().toString()
                        : GuestEnvironment.ourLauncher().toString());
        argv.addAll(List.of(
                "--syslog",
                "--cache=auto",
                "--shared-dir=" + run.sharedDir(),
                "--fd=3",
                "--thread-pool-size=1",
                "--announce-submounts"));
        if (GuestEnvironment.usePeer()) {
            argv.addAll(List.of("--sandbox=none", "--seccomp=none"));
        }
        smoke(run, argv);
        run.deleteSharedDir();
    }

    @Test
    void talosProvisionerCommandLine() throws Exception {
        GuestSupport.assumeDaemonAvailable();
        GuestRun run = GuestRun.prepare("talos");
        List<String> argv = new ArrayList<>(List.of(
                GuestEnvironment.usePeer()
                        ? GuestEnvironment.peerBinary().toString()
                        : GuestEnvironment.ourLauncher().toString(),
                "--shared-dir",
                run.sharedDir().toString(),
                "--socket-path",
                run.socket().toString(),
                "--announce-submounts",
                "--inode-file-handles=mandatory"));
        if (GuestEnvironment.usePeer()) {
            argv.addAll(List.of("--sandbox=none", "--seccomp=none"));
        }
        smoke(run, argv);
        run.deleteSharedDir();
    }
}
