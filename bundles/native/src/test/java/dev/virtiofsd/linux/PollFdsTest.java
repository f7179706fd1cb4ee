package dev.virtiofsd.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class PollFdsTest {
    @Test
    void reportsReadinessInTheRightSlot() throws Exception {
        int quiet = Linux.eventfd(0, 0);
        int ready = Linux.eventfd(0, 0);
        long one = NativeMemory.allocate(8);
        try (PollFds p = new PollFds(2)) {
            p.set(0, quiet, Linux.POLLIN).set(1, ready, Linux.POLLIN);
            assertEquals(0, p.poll(2, 0), "nothing readable yet");
            NativeMemory.putLong(one, 1);
            Linux.write(ready, one, 8);
            assertEquals(1, p.poll(2, 1000));
            assertEquals(0, p.revents(0));
            assertEquals(Linux.POLLIN, p.revents(1));
            assertEquals(ready, p.fd(1));
            assertEquals(Linux.POLLIN, p.events(1));
            // polling only the first slot ignores the second
            p.set(0, quiet, Linux.POLLIN);
            assertEquals(0, p.poll(1, 0));
        } finally {
            NativeMemory.free(one);
            Linux.close(quiet);
            Linux.close(ready);
        }
    }

    @Test
    void anFdThatIsNotOpenIsReportedAsInvalid() throws Exception {
        int fd = 1 << 30; // above any fd limit: never open, not even in another thread
        try (PollFds p = new PollFds(1)) {
            p.set(0, fd, Linux.POLLIN);
            assertEquals(1, p.poll(1, 0));
            assertEquals(Linux.POLLNVAL, p.revents(0));
        }
    }

    @Test
    void slotsOutsideTheArrayAreRefused() {
        try (PollFds p = new PollFds(1)) {
            assertThrows(IndexOutOfBoundsException.class, () -> p.set(1, 0, Linux.POLLIN));
            assertThrows(IllegalArgumentException.class, () -> p.poll(2, 0));
        }
    }
}
