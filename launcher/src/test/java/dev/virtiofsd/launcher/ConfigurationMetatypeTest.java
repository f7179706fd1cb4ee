package dev.virtiofsd.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.config.ControlConfiguration;
import dev.virtiofsd.api.config.FuseDevConfiguration;
import dev.virtiofsd.api.config.PassthroughConfiguration;
import dev.virtiofsd.api.config.VhostUserConfiguration;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every key the launcher writes into ConfigAdmin is an attribute of the metatype the bundle of that
 * PID was built with (the {@code @ObjectClassDefinition} bnd turned into {@code OSGI-INF/metatype}),
 * of the same type; where the command line leaves an option at its default, the value written is
 * the metatype's default; the shipped profiles set only such keys, with such types. The bundles are
 * read as built (their jars, or their classes directories when the reactor has not packaged them).
 */
class ConfigurationMetatypeTest {
    private static final List<String> BUNDLE_PIDS = List.of(
            PassthroughConfiguration.PID,
            VhostUserConfiguration.PID,
            FuseDevConfiguration.PID,
            ControlConfiguration.PID);

    private static BundleMetatype built;

    @BeforeAll
    static void readBuiltBundles() throws Exception {
        built = BundleMetatype.of(SystemPackages.classPath());
    }

    @Test
    void everyConfiguredBundleHasMetatypeWithADescriptionForEachAttribute() {
        for (String pid : BUNDLE_PIDS) {
            assertTrue(
                    built.pids().containsKey(pid),
                    "no metatype for " + pid + " (found " + built.pids().keySet() + ")");
            assertEquals(List.of(), built.undescribed(pid), "attributes without a description");
        }
    }

    @Test
    void defaultCommandLinesWriteTheMetatypeDefaults() throws Exception {
        String dir = System.getProperty("java.io.tmpdir");
        for (String[] args : List.of(
                new String[] {"--shared-dir", dir, "--socket-path", dir + "/vfsd.sock"},
                new String[] {"--shared-dir", dir, "--fd", "3"},
                new String[] {"--transport=fuse-dev", "--sandbox", "none", "--shared-dir", dir, "--mountpoint", dir})) {
            Options o = CommandLine.parse(args);
            Map<String, Map<String, Object>> written = Main.configurations(o);
            assertEquals(List.of(), built.problems(written, notGiven(o, written)), String.join(" ", args));
        }
    }

    @Test
    void everyKeyAnyCommandLineWritesIsInTheMetatype() throws Exception {
        String dir = System.getProperty("java.io.tmpdir");
        List<String[]> lines = List.of(
                new String[] {
                    "--shared-dir",
                    dir,
                    "--socket-path",
                    dir + "/vfsd.sock",
                    "--socket-group",
                    "kvm",
                    "--thread-pool-size",
                    "4",
                    "--cache",
                    "always",
                    "--xattr",
                    "--readonly",
                    "--no-announce-submounts",
                    "--security-label",
                    "--writeback",
                    "--allow-direct-io",
                    "--allow-mmap",
                    "--no-readdirplus",
                    "--killpriv-v2",
                    "--preserve-noatime",
                    "--xattrmap",
                    ":map::user.virtiofs.:",
                    "--translate-uid",
                    "map:0:1000:1",
                    "--translate-gid",
                    "map:0:1000:1",
                    "--tag",
                    "myfs",
                    "--strategy",
                    "handle-only",
                    "--control-socket",
                    dir + "/ctl",
                    "--migration-mode",
                    "file-handles",
                    "--migration-on-error",
                    "guest-error",
                    "--migration-verify-handles",
                    "--migration-confirm-paths",
                    "-o",
                    "no_posix_lock,no_flock"
                },
                new String[] {"--shared-dir", dir, "--fd", "3", "--posix-acl", "--inode-file-handles=prefer"},
                new String[] {
                    "--transport=fuse-dev",
                    "--sandbox",
                    "none",
                    "--shared-dir",
                    dir,
                    "--mountpoint",
                    dir,
                    "--thread-pool-size",
                    "3"
                });
        for (String[] args : lines) {
            Options o = CommandLine.parse(args);
            for (boolean confined : new boolean[] {false, true}) {
                assertEquals(
                        List.of(), built.problems(Main.configurations(o, confined), Map.of()), String.join(" ", args));
            }
        }
    }

    @Test
    void shippedProfilesSetOnlyKeysOfTheMetatypeWithItsTypes() throws Exception {
        // The distribution's conf/profiles, read by the launcher's own profile reader.
        Path dir = Path.of("..", "distribution", "src", "main", "dist", "conf", "profiles");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        assertTrue(files.size() >= 4, "profiles in " + dir.toAbsolutePath() + ": " + files);
        for (Path file : files) {
            Map<String, Map<String, Object>> ours = new LinkedHashMap<>();
            Profile.load(file.toString(), null).configurations().forEach((pid, keys) -> {
                if (BUNDLE_PIDS.contains(pid)) {
                    ours.put(pid, new LinkedHashMap<>(keys));
                }
            });
            assertEquals(List.of(), built.problems(ours, Map.of()), file.toString());
        }
    }

    // The check itself, on a synthetic metatype: it must catch a misspelt key, a default that
    // differs from the command line's, and a value of the wrong type.

    private static final String SYNTHETIC = """
            <?xml version="1.0" encoding="UTF-8"?>
            <metatype:MetaData xmlns:metatype="http://www.osgi.org/xmlns/metatype/v1.2.0">
              <OCD id="x.Config" name="x" description="">
                <AD id="cache" type="String" name="Cache" description="d" default="auto"/>
                <AD id="xatr" type="Boolean" name="Xattr" description="d" default="false"/>
                <AD id="announce.submounts" type="Boolean" name="A" description="d" default="false"/>
                <AD id="threads" type="String" name="T" description="" default="2"/>
                <AD id="translate.uid" type="String" cardinality="2147483647" name="U" description="d"/>
              </OCD>
              <Designate pid="dev.virtiofsd.passthrough"><Object ocdref="x.Config"/></Designate>
            </metatype:MetaData>
            """;

    private static BundleMetatype synthetic() throws Exception {
        return BundleMetatype.of(new ByteArrayInputStream(SYNTHETIC.strip().getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void aMisspeltKeyIsFound() throws Exception {
        Map<String, Map<String, Object>> written = Map.of(PassthroughConfiguration.PID, Map.of("xattr", false));
        List<String> p = synthetic().problems(written, Map.of());
        assertEquals(1, p.size(), p.toString());
        assertTrue(p.get(0).startsWith("PID dev.virtiofsd.passthrough key xattr: not in the metatype"), p.get(0));
    }

    @Test
    void aDefaultThatDiffersIsFoundOnlyWhereTheCommandLineUsedItsDefault() throws Exception {
        Map<String, Map<String, Object>> written =
                Map.of(PassthroughConfiguration.PID, Map.of("announce.submounts", true, "cache", "auto"));
        List<String> p = synthetic()
                .problems(written, Map.of(PassthroughConfiguration.PID, List.of("announce.submounts", "cache")));
        assertEquals(
                List.of("PID dev.virtiofsd.passthrough key announce.submounts: the command line's default is true,"
                        + " the metatype's false"),
                p);
        // Given on the command line (not among the defaults): the user's value, not compared.
        assertEquals(List.of(), synthetic().problems(written, Map.of()));
    }

    @Test
    void aValueOfAnotherTypeOrAnUnknownPidIsFound() throws Exception {
        Map<String, Map<String, Object>> written = new LinkedHashMap<>();
        written.put(PassthroughConfiguration.PID, Map.of("threads", 2, "translate.uid", "map:0:1:1"));
        written.put("dev.virtiofsd.nothing", Map.of("k", "v"));
        List<String> p = synthetic().problems(written, Map.of());
        assertEquals(3, p.size(), p.toString());
        assertTrue(
                p.contains("PID dev.virtiofsd.passthrough key threads: the launcher writes a Integer, the metatype"
                        + " has String"),
                p.toString());
        assertTrue(
                p.contains("PID dev.virtiofsd.passthrough key translate.uid: the launcher writes a single value,"
                        + " the metatype has a list"),
                p.toString());
        assertTrue(p.get(p.size() - 1).startsWith("PID dev.virtiofsd.nothing: no bundle has metatype"), p.toString());
        assertEquals(
                List.of("dev.virtiofsd.passthrough threads"), synthetic().undescribed(PassthroughConfiguration.PID));
    }

    /** The keys of {@code written} whose value no option of {@code o} set: the command line's defaults. */
    private static Map<String, List<String>> notGiven(Options o, Map<String, Map<String, Object>> written) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (Map.Entry<String, Map<String, Object>> pid : written.entrySet()) {
            List<String> keys = new ArrayList<>();
            for (String key : pid.getValue().keySet()) {
                List<String> options =
                        ComponentConfigurations.KEY_OPTIONS.getOrDefault(pid.getKey() + "/" + key, List.of());
                if (options.stream().noneMatch(o.given::contains)) {
                    keys.add(key);
                }
            }
            out.put(pid.getKey(), keys);
        }
        return out;
    }
}
