package dev.virtiofsd.passthrough.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Paths;
import org.junit.jupiter.api.Test;

class PassthroughOptionsTest {
    @Test
    void defaultsAndWithers() {
        PassthroughOptions base = PassthroughOptions.of(Paths.get("/srv"));
        assertEquals(PassthroughOptions.Cache.AUTO, base.cacheMode());
        assertFalse(base.xattr());
        assertFalse(base.readonly());
        assertFalse(base.announceSubmounts());
        PassthroughOptions o = base.cache("always").xattr(true).readonly(true).announceSubmounts(true);
        assertEquals(PassthroughOptions.Cache.ALWAYS, o.cacheMode());
        assertTrue(o.xattr() && o.readonly() && o.announceSubmounts());
        assertEquals(Paths.get("/srv"), o.sharedDir());
        // immutable: the base is unchanged
        assertEquals(PassthroughOptions.Cache.AUTO, base.cacheMode());
        assertFalse(base.readonly());
    }

    @Test
    void cacheModesGiveVirtiofsdTimeouts() {
        PassthroughOptions o = PassthroughOptions.of(Paths.get("/"));
        assertEquals(0, o.cache("never").timeoutNanos());
        assertEquals(0, o.cache("none").timeoutNanos());
        assertEquals(1_000_000_000L, o.cache("auto").timeoutNanos());
        assertEquals(86_400_000_000_000L, o.cache("metadata").timeoutNanos());
        assertEquals(86_400_000_000_000L, o.cache("ALWAYS").timeoutNanos());
        assertThrows(IllegalArgumentException.class, () -> o.cache("sometimes"));
        assertThrows(NullPointerException.class, () -> PassthroughOptions.of(null));
    }
}
