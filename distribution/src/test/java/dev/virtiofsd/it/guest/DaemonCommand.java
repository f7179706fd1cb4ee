package dev.virtiofsd.it.guest;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command line of the daemon under test: ours (distribution launcher) or the Rust peer. */
public record DaemonCommand(String name, List<String> argv) {

    public DaemonCommand {
        argv = List.copyOf(argv);
    }

    /** Our daemon from the assembled distribution. */
    public static DaemonCommand ours(Path launcher, Path sharedDir, Path socket, String strategy, boolean xattr) {
        List<String> a = new ArrayList<>(
                List.of(launcher.toString(), "--shared-dir", sharedDir.toString(), "--socket-path", socket.toString()));
        if (strategy != null) a.add("--inode-file-handles=" + strategy);
        if (xattr) a.add("--xattr");
        return new DaemonCommand("virtiofsd-java", a);
    }

    /** Rust virtiofsd 1.13, without sandbox and seccomp (it runs as root next to the tests). */
    public static DaemonCommand peer(Path binary, Path sharedDir, Path socket, String strategy, boolean xattr) {
        List<String> a = new ArrayList<>(List.of(
                binary.toString(),
                "--shared-dir",
                sharedDir.toString(),
                "--socket-path",
                socket.toString(),
                "--sandbox",
                "none",
                "--seccomp",
                "none"));
        if (strategy != null) a.add("--inode-file-handles=" + strategy);
        if (xattr) a.add("--xattr");
        return new DaemonCommand("rust-virtiofsd", a);
    }

    /**
     * The daemon chosen by -Dguest.daemon (ours by default), plus any extra arguments from
     * -Dguest.daemon.args (space separated, e.g. "--cache=never --thread-pool-size=2").
     */
    public static DaemonCommand selected(Path sharedDir, Path socket, String strategy, boolean xattr)
            throws IOException, InterruptedException {
        DaemonCommand c = GuestEnvironment.usePeer()
                ? peer(GuestEnvironment.peerBinary(), sharedDir, socket, strategy, xattr)
                : ours(GuestEnvironment.ourLauncher(), sharedDir, socket, strategy, xattr);
        String extra = System.getProperty("guest.daemon.args", "").strip();
        if (extra.isEmpty()) return c;
        List<String> a = new ArrayList<>(c.argv());
        a.addAll(List.of(extra.split("\\s+")));
        return new DaemonCommand(c.name(), a);
    }

    @Override
    public String toString() {
        return String.join(" ", argv);
    }
}
