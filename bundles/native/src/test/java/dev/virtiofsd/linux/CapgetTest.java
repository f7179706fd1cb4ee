package dev.virtiofsd.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** capget(2) against what the kernel shows in /proc/thread-self/status for the same thread. */
class CapgetTest {
    @Test
    void capgetMatchesProcStatus() throws Exception {
        long[] sets = Linux.capget();
        long eff = -1;
        long prm = -1;
        long inh = -1;
        for (String line : Files.readAllLines(Path.of("/proc/thread-self/status"))) {
            if (line.startsWith("CapEff:")) {
                eff = Long.parseUnsignedLong(line.substring(7).trim(), 16);
            } else if (line.startsWith("CapPrm:")) {
                prm = Long.parseUnsignedLong(line.substring(7).trim(), 16);
            } else if (line.startsWith("CapInh:")) {
                inh = Long.parseUnsignedLong(line.substring(7).trim(), 16);
            }
        }
        assertEquals(eff, sets[0], "effective");
        assertEquals(prm, sets[1], "permitted");
        assertEquals(inh, sets[2], "inheritable");
        assertEquals(
                (eff & (1L << Accounts.CAP_DAC_READ_SEARCH)) != 0,
                Accounts.hasCapability(Accounts.CAP_DAC_READ_SEARCH));
    }
}
