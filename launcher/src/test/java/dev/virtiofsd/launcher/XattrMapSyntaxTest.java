package dev.virtiofsd.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.virtiofsd.launcher.XattrMapSyntax.Rule;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The grammar of virtiofsd's doc/xattr-mapping.md, with its documented examples. */
class XattrMapSyntaxTest {
    private static Rule r(String type, String scope, String key, String prepend) {
        return new Rule(type, scope, key, prepend);
    }

    @Test
    void example1PrefixAllAndItsMapShorthandAreTheSame() {
        List<Rule> longForm = XattrMapSyntax.parse(":prefix:all::user.virtiofs.::bad:all:::");
        assertEquals(List.of(r("prefix", "all", "", "user.virtiofs."), r("bad", "all", "", "")), longForm);
        assertEquals(longForm, XattrMapSyntax.parse(":map::user.virtiofs.:"));
    }

    @Test
    void example2FourRulesWithSlashesOnSeveralLinesAndItsMapShorthand() {
        List<Rule> longForm = XattrMapSyntax.parse("/prefix/all/trusted./user.virtiofs./\n"
                + "            /bad/server//trusted./\n"
                + "            /bad/client/user.virtiofs.//\n"
                + "            /ok/all///");
        assertEquals(
                List.of(
                        r("prefix", "all", "trusted.", "user.virtiofs."),
                        r("bad", "server", "", "trusted."),
                        r("bad", "client", "user.virtiofs.", ""),
                        r("ok", "all", "", "")),
                longForm);
        // the map rule expands into one bad rule with both scopes instead of the two scoped ones
        assertEquals(
                List.of(
                        r("prefix", "all", "trusted.", "user.virtiofs."),
                        r("bad", "all", "user.virtiofs.", "trusted."),
                        r("ok", "all", "", "")),
                XattrMapSyntax.parse("/map/trusted./user.virtiofs./"));
    }

    @Test
    void example3HideSecurity() {
        assertEquals(
                List.of(r("bad", "all", "security.", "security."), r("ok", "all", "", "")),
                XattrMapSyntax.parse("/bad/all/security./security./\n            /ok/all///"));
    }

    @Test
    void tableRulesAndDifferentDelimitersPerRule() {
        assertEquals(
                List.of(r("prefix", "client", "trusted.", "user.virtiofs."), r("unsupported", "server", "", "x.")),
                XattrMapSyntax.parse(" :prefix:client:trusted.:user.virtiofs.:  |unsupported|server||x.| "));
    }

    @Test
    void errorsNameTheRule() {
        assertEquals(
                "rule 1 is incomplete (a field lacks its closing ':')",
                assertThrows(IllegalArgumentException.class, () -> XattrMapSyntax.parse(":prefix:client:hi"))
                        .getMessage());
        assertEquals(
                "rule 1: a map rule must be the last rule",
                assertThrows(
                                IllegalArgumentException.class,
                                () -> XattrMapSyntax.parse(
                                        ":map:trusted.:virtiofs.user.::map:trusted.:virtiofs.user.:"))
                        .getMessage());
        assertEquals(
                "rule 1: type 'TOMATOPIRATE' is not one of prefix, ok, bad, unsupported, map",
                assertThrows(
                                IllegalArgumentException.class,
                                () -> XattrMapSyntax.parse(":TOMATOPIRATE:trusted.:virtiofs.user.:"))
                        .getMessage());
        assertEquals(
                "rule 1: scope 'helloworld' is not one of all, client, server",
                assertThrows(IllegalArgumentException.class, () -> XattrMapSyntax.parse("/prefix/helloworld///"))
                        .getMessage());
        assertEquals(
                "no rules",
                assertThrows(IllegalArgumentException.class, () -> XattrMapSyntax.parse(" "))
                        .getMessage());
    }

    @Test
    void encodedFormKeepsEveryField() {
        assertEquals(
                List.of("prefix\0all\0trusted.\0user.virtiofs.", "ok\0all\0\0"),
                List.of(XattrMapSyntax.encode(
                        XattrMapSyntax.parse(":prefix:all:trusted.:user.virtiofs.: :ok:all:::"))));
    }
}
