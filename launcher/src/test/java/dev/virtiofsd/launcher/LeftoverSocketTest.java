package dev.virtiofsd.launcher;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LeftoverSocketTest {
    @TempDir
    Path dir;

    private Path leftover(String pidFileContent) throws Exception {
        Path socket = Files.createFile(dir.resolve("vhost.sock"));
        Files.writeString(dir.resolve("vhost.sock.pid"), pidFileContent);
        return socket;
    }

    @Test
    void aSocketWhosePidFileNamesThisProcessIsRemovedWithIt() throws Exception {
        Path socket = leftover("4242\n");
        assertTrue(LeftoverSocket.removeIfOurs(socket.toString(), false, 4242));
        assertFalse(Files.exists(socket));
        assertFalse(Files.exists(dir.resolve("vhost.sock.pid")));
    }

    @Test
    void anotherDaemonsSocketStays() throws Exception {
        Path socket = leftover("4243\n");
        assertFalse(LeftoverSocket.removeIfOurs(socket.toString(), false, 4242));
        assertTrue(Files.exists(socket));
        assertTrue(Files.exists(dir.resolve("vhost.sock.pid")));
    }

    @Test
    void withoutAPidFileOrConfinedOrWithoutAPathNothingIsRemoved() throws Exception {
        Path socket = Files.createFile(dir.resolve("other.sock"));
        assertFalse(LeftoverSocket.removeIfOurs(socket.toString(), false, 4242), "no pid file");
        assertTrue(Files.exists(socket));
        Path ours = leftover("4242\n");
        assertFalse(LeftoverSocket.removeIfOurs(ours.toString(), true, 4242), "confined: the files stay");
        assertTrue(Files.exists(ours));
        assertFalse(LeftoverSocket.removeIfOurs(null, false, 4242));
        assertFalse(LeftoverSocket.removeIfOurs("", false, 4242));
    }
}
