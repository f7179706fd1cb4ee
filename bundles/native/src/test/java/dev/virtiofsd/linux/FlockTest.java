package dev.virtiofsd.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FlockTest {
    @TempDir
    Path dir;

    @Test
    void aConflictingLockIsReportedWithItsRange() throws Exception {
        Path f = Files.writeString(dir.resolve("f"), "0123456789");
        int a = Linux.open(f.toString(), Linux.O_RDWR, 0);
        int b = Linux.open(f.toString(), Linux.O_RDWR, 0);
        try (Flock lock = new Flock();
                Flock probe = new Flock()) {
            lock.set(Flock.F_WRLCK, 3, 4).ofdLock(a, Linux.F_OFD_SETLK);
            // a second open file description sees the first one's lock
            probe.set(Flock.F_RDLCK, 0, 0).ofdLock(b, Linux.F_OFD_GETLK);
            assertEquals(Flock.F_WRLCK, probe.type());
            assertEquals(Linux.SEEK_SET, probe.whence());
            assertEquals(3, probe.start());
            assertEquals(4, probe.len());
            assertEquals(-1, probe.pid(), "an OFD lock belongs to no process");
            ErrnoException e = assertThrows(
                    ErrnoException.class, () -> probe.set(Flock.F_WRLCK, 5, 1).ofdLock(b, Linux.F_OFD_SETLK));
            assertEquals(Errno.EAGAIN, e.errno());
            // outside the locked range nothing conflicts
            probe.set(Flock.F_WRLCK, 7, 3).ofdLock(b, Linux.F_OFD_GETLK);
            assertEquals(Flock.F_UNLCK, probe.type());
            lock.set(Flock.F_UNLCK, 0, 0).ofdLock(a, Linux.F_OFD_SETLK);
            probe.set(Flock.F_WRLCK, 0, 0).ofdLock(b, Linux.F_OFD_SETLK);
        } finally {
            Linux.close(a);
            Linux.close(b);
        }
    }

    @Test
    void setClearsWhatAnEarlierCallLeft() {
        try (Flock lock = new Flock()) {
            NativeMemory.fill(lock.address(), Flock.SIZE, (byte) 0x5a);
            lock.set(Flock.F_RDLCK, 1, 2);
            assertEquals(0, lock.pid());
            assertEquals(0, NativeMemory.getInt(lock.address() + 4), "padding after l_whence");
        }
    }
}
