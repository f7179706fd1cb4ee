package dev.virtiofsd.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class ErrnoExceptionTest {
    @Test
    void routineErrnosAreSharedAndCarryNoStackTrace() {
        ErrnoException e = ErrnoException.of(Errno.ENOENT);
        assertSame(e, ErrnoException.of(Errno.ENOENT), "one instance per errno: no allocation when thrown");
        assertEquals(Errno.ENOENT, e.errno());
        assertEquals(0, e.getStackTrace().length, "no stack walk on the request path");
        assertEquals("ENOENT", e.getMessage());
        // a shared instance must not collect state from whoever caught it before
        e.addSuppressed(new RuntimeException("x"));
        assertEquals(0, ErrnoException.of(Errno.ENOENT).getSuppressed().length);
        assertNull(e.getCause());
    }

    @Test
    void everyErrnoUpToMaxHasItsOwnSharedInstance() {
        for (int i = 1; i <= Errno.MAX; i++) {
            assertEquals(i, ErrnoException.of(i).errno());
            assertSame(ErrnoException.of(i), ErrnoException.of(i));
        }
    }

    @Test
    void numbersOutsideTheTable() {
        assertEquals(Errno.EIO, ErrnoException.of(0).errno(), "0 is no error to send: EIO");
        assertEquals(Errno.EIO, ErrnoException.of(-2).errno());
        ErrnoException big = ErrnoException.of(Errno.MAX + 7);
        assertEquals(Errno.MAX + 7, big.errno());
        assertNotSame(big, ErrnoException.of(Errno.MAX + 7));
    }

    @Test
    void aMessageSaysWhatFailed() {
        ErrnoException e = ErrnoException.of(Errno.EACCES, "open /srv/x");
        assertNotSame(e, ErrnoException.of(Errno.EACCES));
        assertEquals("open /srv/x: EACCES", e.getMessage());
        assertEquals(0, e.getStackTrace().length);
        assertEquals(Errno.EIO, ErrnoException.of(0, "what").errno());
    }

    @Test
    void errnoNames() {
        assertEquals("ENOENT", Errno.name(2));
        assertEquals("EOPNOTSUPP", Errno.name(95));
        assertEquals("errno 200", Errno.name(200));
        assertEquals("errno 0", Errno.name(0));
        assertEquals("errno -1", Errno.name(-1));
        // the numbers the daemon sends must be Linux's (x86-64 and aarch64 share them)
        assertEquals(13, Errno.EACCES);
        assertEquals(22, Errno.EINVAL);
        assertEquals(38, Errno.ENOSYS);
        assertEquals(61, Errno.ENODATA);
        assertEquals(116, Errno.ESTALE);
    }
}
