package dev.virtiofsd.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SystemPackagesTest {
    @Test
    void exportPackageKeepsNamesAndVersionsOnly() {
        Map<String, String> out = new LinkedHashMap<>();
        SystemPackages.parseExportPackage(
                "a.b;version=\"1.2.3\";uses:=\"x.y,z.w\",c.d;e.f;version=2.0," + "g;mandatory:=\"version\"", out);
        assertEquals(Map.of("a.b", "1.2.3", "c.d", "2.0", "e.f", "2.0"), filterNonNull(out));
        assertTrue(out.containsKey("g"));
        assertEquals(null, out.get("g"));
        assertFalse(out.containsKey("z.w"));
    }

    private static Map<String, String> filterNonNull(Map<String, String> m) {
        Map<String, String> r = new LinkedHashMap<>();
        m.forEach((k, v) -> {
            if (v != null) {
                r.put(k, v);
            }
        });
        return r;
    }

    @Test
    void osgiVersions() {
        assertEquals("1.3.13", SystemPackages.osgiVersion("1.3.13"));
        assertEquals("2.0.0.SNAPSHOT", SystemPackages.osgiVersion("2.0-SNAPSHOT"));
        assertEquals("1.0.0.beta", SystemPackages.osgiVersion("1-beta"));
    }

    @Test
    void classPathJarsExportJnrJffiAndSlf4jWithVersions() throws Exception {
        String extra = SystemPackages.compute(SystemPackages.classPath(), SystemPackages.SHARED_JARS);
        for (String expected : new String[] {
            "jnr.ffi;version=\"2.2.17\"",
            "jnr.ffi.provider.jffi;version=\"2.2.17\"",
            "jnr.posix;version=\"3.1.20\"",
            "jnr.unixsocket;version=\"0.38.23\"",
            "com.kenai.jffi;version=\"1.3.13\"",
            "org.slf4j;version=\"2.0.17\""
        }) {
            assertTrue(("," + extra + ",").contains("," + expected + ","), expected + " not in " + extra);
        }
        assertFalse(extra.contains("uses:="));
        assertFalse(extra.contains("org.apache.felix"));
        assertFalse(extra.contains("ch.qos.logback"));
    }

    @Test
    void dsFailureReasonIsTheInnermostMessage() {
        assertEquals(
                "--inode-file-handles=mandatory needs CAP_DAC_READ_SEARCH",
                FelixLauncher.failureReason(
                        "org.osgi.service.component.ComponentException: java.lang.reflect.InvocationTargetException\n"
                                + "\tat org.apache.felix.scr.Foo.bar(Foo.java:1)\n"
                                + "Caused by: java.lang.IllegalStateException: --inode-file-handles=mandatory needs CAP_DAC_READ_SEARCH\n"
                                + "\tat x.Y.z(Y.java:2)\n"));
        assertEquals("boom", FelixLauncher.failureReason("java.lang.RuntimeException: boom"));
        assertEquals("unknown reason", FelixLauncher.failureReason(null));
    }
}
