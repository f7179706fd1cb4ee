package dev.virtiofsd.it.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The guest mounts, writes, and reboots with reboot -f while the share is mounted and a file
 * is open (device reset under live inodes); after the reboot it mounts again against the same
 * daemon process, finds the data and unmounts cleanly.
 */
class GuestRebootIT {
    @ParameterizedTest(name = "--inode-file-handles={0}")
    @ValueSource(strings = {"never"})
    void guestRebootsAndMountsAgain(String strategy) throws Exception {
        GuestSupport.assumeDaemonAvailable();
        GuestRun run = GuestRun.prepare("reboot-" + strategy);
        long t0 = System.nanoTime();
        GuestResult r = run.execute(GuestSupport.daemon(run, strategy, false), "reboot", false, true);
        System.out.printf(
                "guest reboot run %s: %d ms (guest %d ms)%n",
                strategy, (System.nanoTime() - t0) / 1_000_000, r.guestMillis);
        GuestSupport.assertCleanRun(r, List.of("mount", "first-boot", "mount", "second-boot", "umount"), 2);
        assertEquals("before-reboot\n", Files.readString(run.sharedDir().resolve("reboot/boot1")));
        assertEquals("after-reboot\n", Files.readString(run.sharedDir().resolve("reboot/boot2")));
        assertTrue(!Files.exists(run.sharedDir().resolve("reboot/many")));
        run.deleteSharedDir();
    }
}
