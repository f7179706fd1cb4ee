package dev.virtiofsd.it.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The harness's own parts, without QEMU (runs with the ITs, in milliseconds): console parsing. The
 * initramfs format is vhost-user-frontend's CpioTest.
 */
class GuestHarnessIT {
    @Test
    void parsesConsoleMarkersAmidKernelNoise() {
        String console = "[    0.1] Linux version 6.1\r\n"
                + "GUEST-BOOT uptime=1.9 workload=mount xattr=0\r\n"
                + "STEP mount\nRESULT mount PASS 0.04s\n"
                + "STEP create\n[    2.0] some kernel line\nRESULT create FAIL + t_create|can't create /mnt/f1|\n"
                + "VALUE big.read.sha256 abc123\nTIME big.read 1.43\n"
                + "GUEST-END workload=mount uptime=3\n";
        GuestResult r = new GuestResult(console, "", 0, 0, null, 1, 2, 3);
        assertEquals(List.of("mount", "create"), r.checkNames());
        assertEquals(1, r.failures().size());
        assertEquals("+ t_create|can't create /mnt/f1|", r.failures().get(0).detail());
        assertFalse(r.failures().get(0).pass());
        assertEquals("abc123", r.values.get("big.read.sha256"));
        assertEquals("1.43", r.guestTimes.get("big.read"));
        assertEquals("create", r.lastStep);
        assertEquals(1, r.boots);
        assertEquals(1, r.ends);
        assertNull(r.killedBecause);
    }
}
