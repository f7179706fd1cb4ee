package dev.virtiofsd.it.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Shared preconditions and assertions of the guest ITs. */
final class GuestSupport {
    private GuestSupport() {}

    /** Our daemon's ITs need the assembled layout; the peer needs nothing from the build. */
    static void assumeDaemonAvailable() {
        if (GuestEnvironment.usePeer()) return;
        Path launcher = GuestEnvironment.ourLauncher();
        assumeTrue(
                Files.isExecutable(launcher),
                () -> "distribution layout not built: " + launcher
                        + " missing (run mvn verify on distribution, or set -Dvirtiofsd.distribution)");
    }

    static DaemonCommand daemon(GuestRun run, String strategy, boolean xattr) throws IOException, InterruptedException {
        return DaemonCommand.selected(run.sharedDir(), run.socket(), strategy, xattr);
    }

    /** Every expected check ran, in order, and passed; QEMU powered off; the daemon exited 0. */
    static void assertCleanRun(GuestResult r, List<String> expectedChecks, int expectedBoots) {
        String report = r.describe();
        System.out.println(report);
        assertEquals(List.of(), r.failures(), () -> "guest checks failed\n" + report);
        assertEquals(expectedChecks, r.checkNames(), () -> "guest did not run every check\n" + report);
        assertEquals(expectedBoots, r.boots, () -> "boot count\n" + report);
        assertEquals(1, r.ends, () -> "guest did not reach the end of its workload\n" + report);
        assertNotNull(r.qemuExit, () -> "QEMU had to be killed at the timeout\n" + report);
        assertEquals(0, r.qemuExit, () -> "QEMU exit status\n" + report);
        assertNotNull(r.daemonExit, () -> "daemon did not exit after the front end disconnected\n" + report);
        assertEquals(0, r.daemonExit, () -> "daemon exit status after the front end disconnected\n" + report);
        assertTrue(r.daemonStartMillis >= 0);
    }
}
