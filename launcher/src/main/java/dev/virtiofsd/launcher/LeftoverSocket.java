package dev.virtiofsd.launcher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The vhost-user socket file a stop left behind. A SIGTERM that arrives while the transport
 * component is still finishing its activation can make the framework drop the component without
 * deactivating it, and then nothing removes the socket. The transport writes {@code <socket>.pid}
 * with this process's pid under an exclusive lock and deletes both when it closes, so a pid file
 * that still names this process at exit proves that the socket beside it is ours.
 */
final class LeftoverSocket {
    private LeftoverSocket() {}

    /**
     * Removes {@code socketPath} and its pid file if the pid file names {@code pid}. Nothing for a
     * confined daemon (the transport leaves its files then, as virtiofsd does) or without a path.
     */
    static boolean removeIfOurs(String socketPath, boolean confined, long pid) {
        if (confined || socketPath == null || socketPath.isEmpty()) {
            return false;
        }
        Path pidFile = Path.of(socketPath + ".pid");
        try {
            if (!Files.isRegularFile(pidFile)
                    || !Files.readString(pidFile, StandardCharsets.US_ASCII)
                            .trim()
                            .equals(Long.toString(pid))) {
                return false;
            }
            Files.deleteIfExists(Path.of(socketPath));
            Files.deleteIfExists(pidFile);
            return true;
        } catch (IOException | RuntimeException e) {
            return false; // the daemon is exiting: a file it cannot read or remove stays
        }
    }
}
