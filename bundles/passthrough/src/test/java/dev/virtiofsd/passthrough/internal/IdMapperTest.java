package dev.virtiofsd.passthrough.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import org.junit.jupiter.api.Test;

class IdMapperTest {
    @Test
    void identityWhenEmpty() throws Exception {
        assertTrue(IdMapper.parse(new String[0]).isIdentity());
        assertEquals(1234, IdMapper.IDENTITY.toHost(1234));
        assertEquals(-2, IdMapper.IDENTITY.toGuest(-2));
    }

    /** The README's example: everything squashed to 1001 on the host, 1001 shown as 1000 in the guest. */
    @Test
    void readmeExample() throws Exception {
        IdMapper m = IdMapper.parse(new String[] {"squash-guest:0:1001:4294967295", "host:1001:1000:1"});
        assertEquals(1001, m.toHost(0));
        assertEquals(1001, m.toHost(1000));
        assertEquals(1001, m.toHost(65533));
        assertEquals(1000, m.toGuest(1001));
        assertEquals(0, m.toGuest(0));
        assertEquals(5, m.toGuest(5));
        // 4294967295 (-1) is outside [0, 4294967295): unmapped
        assertEquals(-1, m.toHost(-1));
    }

    @Test
    void rangesBothWaysAndSquashHostAndForbid() throws Exception {
        IdMapper m = IdMapper.parse(
                new String[] {"map:0:100000:65536", "guest:70000:5:2", "squash-host:200000:7:10", "forbid-guest:90000:3"
                });
        assertEquals(100000, m.toHost(0));
        assertEquals(100010, m.toHost(10));
        assertEquals(10, m.toGuest(100010));
        assertEquals(6, m.toHost(70001));
        assertEquals(70002, m.toHost(70002));
        assertEquals(7, m.toGuest(200009));
        assertEquals(200010, m.toGuest(200010));
        assertEquals(
                Errno.EPERM,
                assertThrows(ErrnoException.class, () -> m.toHost(90002)).errno());
        assertEquals(90003, m.toHost(90003));
    }

    @Test
    void overlappingSourceRangesAreRefused() {
        assertThrows(
                IllegalArgumentException.class,
                () -> IdMapper.parse(new String[] {"guest:0:10:10", "squash-guest:5:1:1"}));
        assertThrows(IllegalArgumentException.class, () -> IdMapper.parse(new String[] {"guest:4294967295:0:2"}));
        // host and guest directions are separate: no overlap
        IdMapper.parse(new String[] {"guest:0:10:10", "host:0:10:10"});
    }
}
