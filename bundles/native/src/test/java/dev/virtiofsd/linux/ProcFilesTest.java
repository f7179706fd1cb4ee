package dev.virtiofsd.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** ProcFiles.openFdCount counts this process's fds: ten more after opening ten, as many after closing them. */
class ProcFilesTest {
    @Test
    void openFdCountFollowsOpensAndCloses() throws Exception {
        int[] fds = new int[10];
        // Other threads of the test JVM may open a file meanwhile: take the count that repeats.
        int before = stableCount();
        assertTrue(before >= 3, "stdin, stdout, stderr at least: " + before);
        for (int i = 0; i < fds.length; i++) {
            fds[i] = Linux.open("/", Linux.O_PATH | Linux.O_DIRECTORY, 0);
        }
        try {
            assertEquals(before + fds.length, stableCount());
        } finally {
            for (int fd : fds) {
                Linux.close(fd);
            }
        }
        assertEquals(before, stableCount());
    }

    private static int stableCount() throws Exception {
        int last = ProcFiles.openFdCount();
        for (int i = 0; i < 20; i++) {
            int now = ProcFiles.openFdCount();
            if (now == last) {
                return now;
            }
            last = now;
        }
        return last;
    }
}
