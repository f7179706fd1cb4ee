package dev.virtiofsd.passthrough.internal;

import static dev.virtiofsd.passthrough.internal.AccessRules.R_OK;
import static dev.virtiofsd.passthrough.internal.AccessRules.W_OK;
import static dev.virtiofsd.passthrough.internal.AccessRules.X_OK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import org.junit.jupiter.api.Test;

/** ACCESS by mode bits, as Rust virtiofsd decides it. */
class AccessRulesTest {
    private static final int OWNER = 1000;
    private static final int GROUP = 100;

    private static boolean allowed(int mode, int uid, int gid, int mask) {
        try {
            AccessRules.check(mode, OWNER, GROUP, uid, gid, mask);
            return true;
        } catch (ErrnoException e) {
            assertEquals(Errno.EACCES, e.errno());
            return false;
        }
    }

    @Test
    void ownerGroupAndOthersEachGetTheirOwnBits() {
        assertEquals(true, allowed(0400, OWNER, 1, R_OK));
        assertEquals(false, allowed(0040, OWNER, 1, R_OK), "the owner is not judged by the group bits");
        assertEquals(true, allowed(0040, 2000, GROUP, R_OK));
        assertEquals(true, allowed(0004, 2000, 1, R_OK));
        assertEquals(false, allowed(0440, 2000, 1, R_OK));
        assertEquals(true, allowed(0200, OWNER, 1, W_OK));
        // Unlike POSIX (the owner's class alone decides), any class the caller is in may grant, as in
        // Rust virtiofsd: an owner without w is let in by the others' w.
        assertEquals(true, allowed(0577, OWNER, GROUP, W_OK));
        assertEquals(true, allowed(0020, 2000, GROUP, W_OK));
        assertEquals(true, allowed(0002, 2000, 1, W_OK));
        assertEquals(true, allowed(0100, OWNER, 1, X_OK));
        assertEquals(true, allowed(0010, 2000, GROUP, X_OK));
        assertEquals(true, allowed(0001, 2000, 1, X_OK));
        assertEquals(false, allowed(0660, 2000, GROUP, X_OK));
    }

    @Test
    void everyAskedBitMustBeGranted() {
        assertEquals(true, allowed(0600, OWNER, 1, R_OK | W_OK));
        assertEquals(false, allowed(0400, OWNER, 1, R_OK | W_OK));
        assertEquals(false, allowed(0600, OWNER, 1, R_OK | W_OK | X_OK));
    }

    @Test
    void rootReadsAndWritesAnythingAndExecutesWhatAnyoneMay() {
        assertEquals(true, allowed(0000, 0, 0, R_OK | W_OK));
        assertEquals(false, allowed(0666, 0, 0, X_OK), "no x bit at all: not even root");
        assertEquals(true, allowed(0001, 0, 0, X_OK));
        assertEquals(true, allowed(0010, 0, 0, X_OK));
    }

    @Test
    void existenceAndUnknownBitsAskNothing() {
        assertEquals(true, allowed(0000, 2000, 1, 0));
        assertEquals(true, allowed(0000, 2000, 1, 0x100));
        assertThrows(ErrnoException.class, () -> AccessRules.check(0, OWNER, GROUP, 2000, 1, R_OK | 0x100));
    }
}
