package dev.virtiofsd.frontend.guest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Whether a daemon listens on its vhost-user socket yet: QEMU's connect is refused between bind and listen. */
public final class DaemonSocket {
    /** __SO_ACCEPTCON in the flags column of /proc/net/unix: a listening socket. */
    private static final int SO_ACCEPTCON = 0x10000;

    private DaemonSocket() {}

    /**
     * True once a listening socket bound to {@code socket} shows in the unix socket table of the
     * daemon's network namespace (its own, in our default sandbox; the peer's listener stays in the
     * host's), read through the process or one of its children.
     */
    public static boolean listening(Path socket, ProcessHandle daemon) throws IOException {
        List<Long> pids = new ArrayList<>();
        pids.add(daemon.pid());
        daemon.children().forEach(c -> pids.add(c.pid()));
        return listening(socket, pids.stream().mapToLong(Long::longValue).toArray());
    }

    /** The same, looking in this network namespace and in those of the processes {@code pids}. */
    public static boolean listening(Path socket, long... pids) throws IOException {
        if (!Files.exists(socket)) {
            return false;
        }
        List<Path> tables = new ArrayList<>(List.of(Path.of("/proc/net/unix")));
        for (long pid : pids) {
            tables.add(Path.of("/proc/" + pid + "/net/unix"));
        }
        String path = socket.toString();
        for (Path table : tables) {
            List<String> lines;
            try {
                lines = Files.readAllLines(table);
            } catch (IOException gone) {
                continue; // the process is gone (the caller notices) or not there yet
            }
            for (String line : lines) {
                String[] f = line.trim().split("\\s+", -1);
                if (f.length >= 8 && f[7].equals(path) && (Integer.parseInt(f[3], 16) & SO_ACCEPTCON) != 0) {
                    return true;
                }
            }
        }
        return false;
    }
}
