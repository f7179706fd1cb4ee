package dev.virtiofsd.passthrough.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Matching of virtiofsd's documented xattr mapping examples (rules as the launcher expands them). */
class XattrMapTest {
    private static XattrMap map(String... rules) {
        return XattrMap.fromRules(rules);
    }

    private static String client(XattrMap m, String name) throws ErrnoException {
        return new String(m.mapClient(name.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
    }

    private static int clientErrno(XattrMap m, String name) {
        return assertThrows(ErrnoException.class, () -> m.mapClient(name.getBytes(StandardCharsets.UTF_8)))
                .errno();
    }

    private static List<String> list(XattrMap m, String... hostNames) {
        byte[] b = (String.join("\0", hostNames) + "\0").getBytes(StandardCharsets.UTF_8);
        return m.mapServerList(b, b.length).stream()
                .map(x -> new String(x, StandardCharsets.UTF_8))
                .collect(Collectors.toList());
    }

    /** Example 1, :map::user.virtiofs.: = :prefix:all::user.virtiofs.: :bad:all:::. */
    @Test
    void everythingUnderUserVirtiofs() throws Exception {
        XattrMap m = map("prefix\0all\0\0user.virtiofs.", "bad\0all\0\0");
        assertEquals("user.virtiofs.trusted.x", client(m, "trusted.x"));
        assertEquals("user.virtiofs.user.y", client(m, "user.y"));
        assertEquals(
                List.of("trusted.x", "security.selinux"),
                list(m, "user.virtiofs.trusted.x", "user.host-only", "user.virtiofs.security.selinux"));
    }

    /** Example 2, trusted. remapped, the target prefix guarded, the rest passed. */
    @Test
    void trustedRemappedOthersPassed() throws Exception {
        XattrMap m = map(
                "prefix\0all\0trusted.\0user.virtiofs.",
                "bad\0server\0\0trusted.",
                "bad\0client\0user.virtiofs.\0",
                "ok\0all\0\0");
        assertEquals("user.virtiofs.trusted.a", client(m, "trusted.a"));
        assertEquals("user.plain", client(m, "user.plain"));
        assertEquals(Errno.EPERM, clientErrno(m, "user.virtiofs.trusted.a"));
        assertEquals(
                List.of("trusted.a", "user.plain"), list(m, "user.virtiofs.trusted.a", "trusted.host", "user.plain"));
    }

    /** Example 3: security. hidden both ways. */
    @Test
    void securityHidden() throws Exception {
        XattrMap m = map("bad\0all\0security.\0security.", "ok\0all\0\0");
        assertEquals(Errno.EPERM, clientErrno(m, "security.selinux"));
        assertEquals("user.a", client(m, "user.a"));
        assertEquals(List.of("user.a"), list(m, "security.selinux", "user.a"));
    }

    @Test
    void unsupportedAndUnterminated() throws Exception {
        XattrMap m = map("unsupported\0client\0trusted.\0", "ok\0client\0user.\0", "prefix\0server\0\0p.");
        assertEquals(Errno.EOPNOTSUPP, clientErrno(m, "trusted.x"));
        assertEquals("user.x", client(m, "user.x"));
        // no rule for the client name: denied; no rule for a server name: hidden
        assertEquals(Errno.EPERM, clientErrno(m, "security.x"));
        assertNull(m.mapServer("q.x".getBytes(StandardCharsets.UTF_8), 0, 3));
        assertEquals(List.of("x"), list(m, "p.x", "q.y"));
    }

    @Test
    void badConfigurationIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> map("prefix\0all\0x"));
        assertThrows(IllegalArgumentException.class, () -> map("nope\0all\0\0"));
        assertThrows(IllegalArgumentException.class, () -> map("ok\0nowhere\0\0"));
    }
}
