package dev.virtiofsd.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --profile: the shipped profiles parse, the command line wins key by key, third-party PIDs pass through. */
class ProfileTest {
    /** The distribution's sources stand for its home (conf/profiles). */
    static final Path HOME =
            Paths.get("../distribution/src/main/dist").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    private Options parse(String... args) throws Exception {
        Options o = CommandLine.parse(args);
        o.loadedProfile = Profile.load(o.profile, HOME);
        Main.applyLauncherSection(o, o.loadedProfile);
        CommandLine.checkCombination(o);
        return o;
    }

    @Test
    void everyShippedProfileReadsAndNamesWhatItIsFor() throws Exception {
        assertEquals(List.of("hardened", "host-mount", "kata", "libvirt"), Profile.shipped(HOME));
        for (String name : Profile.shipped(HOME)) {
            Profile p = Profile.load(name, HOME);
            assertEquals(name, p.name());
            assertTrue(p.configurations().containsKey(Main.PID_PASSTHROUGH), name);
            assertTrue(p.launcher("transport") != null, name + " names its transport");
        }
    }

    @Test
    void hardenedIsHandleOnlyReadOnlyWithoutControlOrHostMount() throws Exception {
        Options o = parse("--profile", "hardened", "--shared-dir", "/srv", "--socket-path", "/tmp/s");
        Map<String, Object> fs = Main.effectiveConfigurations(o).get(Main.PID_PASSTHROUGH);
        assertEquals("handle-only", fs.get("strategy"));
        assertEquals(true, fs.get("readonly"));
        assertEquals(false, fs.get("xattr"));
        assertEquals("/srv", fs.get("shared.dir"), "the command line's required options");
        Set<String> excluded = o.loadedProfile.excludedBundles();
        assertTrue(
                excluded.containsAll(Set.of("dev.virtiofsd.control", "dev.virtiofsd.transport.fusedev")),
                excluded.toString());
    }

    @Test
    void theCommandLineWinsKeyByKeyAndDefaultsDoNot() throws Exception {
        // kata sets the pool to 1 thread; not given: the profile's; given (even the default value): the command line's
        Options o = parse("--profile", "kata", "--shared-dir", "/srv", "--socket-path", "/tmp/s");
        assertEquals(1, Main.effectiveConfigurations(o).get(Main.PID_VHOST_USER).get("thread.pool.size"));
        o = parse("--profile", "kata", "--shared-dir", "/srv", "--socket-path", "/tmp/s", "--thread-pool-size", "0");
        assertEquals(0, Main.effectiveConfigurations(o).get(Main.PID_VHOST_USER).get("thread.pool.size"));
        o = parse(
                "--profile",
                "hardened",
                "--shared-dir",
                "/srv",
                "--socket-path",
                "/tmp/s",
                "--inode-file-handles=prefer");
        assertEquals(
                "handle-preferred",
                Main.effectiveConfigurations(o).get(Main.PID_PASSTHROUGH).get("strategy"));
        assertEquals(
                true, Main.effectiveConfigurations(o).get(Main.PID_PASSTHROUGH).get("readonly"));
    }

    @Test
    void hostMountSelectsTheFuseTransportUnlessTheCommandLineSaysOtherwise() throws Exception {
        Options o = parse("--profile", "host-mount", "--shared-dir", "/srv", "--mountpoint", "/mnt");
        assertEquals(Options.FUSE_DEV, o.transport);
        Map<String, Map<String, Object>> c = Main.effectiveConfigurations(o);
        assertEquals("/mnt", c.get(Main.PID_FUSE_DEV).get("mountpoint"));
        assertEquals("host-mount", c.get(Main.PID_LAUNCHER).get("profile"));
        assertFalse(c.containsKey(Main.PID_VHOST_USER));
        UsageException e =
                assertThrows(UsageException.class, () -> parse("--profile", "host-mount", "--shared-dir", "/srv"));
        assertEquals("--transport=fuse-dev needs --mountpoint DIR", e.getMessage());
    }

    /** A /dev/fuse mount must be on the host: the profile takes the sandbox namespace away too. */
    @Test
    void hostMountSetsTheSandboxItsTransportNeedsAndTheCapabilitiesFollowTheProfile() throws Exception {
        Options o = parse("--profile", "host-mount", "--shared-dir", "/srv", "--mountpoint", "/mnt");
        assertEquals(SandboxOptions.NONE, o.sandbox);
        assertEquals("kill", o.seccomp, "seccomp stays");
        assertEquals("handle-preferred", o.strategyName(), "the profile's strategy");
        long caps = Capabilities.expected(o);
        assertEquals(
                0x880000dbL
                        | 1L << Capabilities.NAMES.indexOf("dac_read_search")
                        | 1L << Capabilities.NAMES.indexOf("sys_admin"),
                caps,
                "fuse-dev mounts (sys_admin), the profile's handle-preferred opens handles (dac_read_search)");
        // The command line still wins, and then the combination is refused with one line.
        UsageException e = assertThrows(
                UsageException.class,
                () -> parse(
                        "--profile",
                        "host-mount",
                        "--shared-dir",
                        "/srv",
                        "--mountpoint",
                        "/mnt",
                        "--sandbox",
                        "namespace"));
        assertTrue(e.getMessage().startsWith("--transport=fuse-dev mounts on this host"), e.getMessage());
        o = parse("--profile", "host-mount", "--shared-dir", "/srv", "--mountpoint", "/mnt", "--seccomp", "none");
        assertEquals("none", o.seccomp);
        assertEquals(SandboxOptions.NONE, o.sandbox);
        o = parse("--profile", "host-mount", "--shared-dir", "/srv", "--mountpoint", "/mnt", "--strategy", "fd");
        assertEquals(0, Capabilities.expected(o) & 1L << Capabilities.NAMES.indexOf("dac_read_search"));
        // hardened's handle-only needs open_by_handle_at under the default sandbox
        o = parse("--profile", "hardened", "--shared-dir", "/srv", "--socket-path", "/tmp/s");
        assertEquals(SandboxOptions.NAMESPACE, o.sandbox);
        assertTrue((Capabilities.expected(o) & 1L << Capabilities.NAMES.indexOf("dac_read_search")) != 0);
    }

    /** What bin/virtiofsd-java reads before it prepares the sandbox of a profile's daemon. */
    @Test
    void theSandboxPlanShowsWhatAProfileAsks() throws Exception {
        String before = System.getProperty(Main.HOME_PROPERTY);
        System.setProperty(Main.HOME_PROPERTY, HOME.toString());
        try {
            assertEquals(
                    "sandbox=none\ntransport=fuse-dev\nstrategy=handle-preferred\ncontrol=\n",
                    plan("--profile", "host-mount", "--shared-dir", "/srv", "--mountpoint", "/mnt"));
            assertEquals(
                    "sandbox=namespace\ntransport=vhost-user\nstrategy=handle-only\ncontrol=1\n",
                    plan("--profile=hardened", "--shared-dir", "/srv", "--fd", "3", "--control-socket", "/tmp/c"));
            assertEquals(
                    "sandbox=chroot\ntransport=vhost-user\nstrategy=fd\ncontrol=\n",
                    plan("--profile", "kata", "--shared-dir", "/srv", "--fd", "3", "-o", "sandbox=chroot"));
            // a profile that mounts on the host and sets no sandbox gets fuse-dev's default, none
            Path mine = tmp.resolve("host.json");
            Files.writeString(mine, """
                    { ":configurator:resource-version": 1, ":configurator:symbolic-name": "t.host",
                      ":configurator:version": "1.0.0",
                      "dev.virtiofsd.launcher": { "transport": "fuse-dev" } }
                    """);
            assertEquals(
                    "sandbox=none\ntransport=fuse-dev\nstrategy=fd\ncontrol=\n",
                    plan("--profile", mine.toString(), "--shared-dir", "/srv", "--mountpoint", "/mnt"));
            assertEquals(
                    "",
                    plan(
                            "--profile",
                            mine.toString(),
                            "--shared-dir",
                            "/srv",
                            "--mountpoint",
                            "/mnt",
                            "--sandbox=namespace"),
                    "refused: the launcher says why");
            assertEquals("", plan("--profile", "nope", "--shared-dir", "/srv", "--fd", "3"), "the launcher says why");
            assertEquals("", plan("--help"));
        } finally {
            if (before == null) {
                System.clearProperty(Main.HOME_PROPERTY);
            } else {
                System.setProperty(Main.HOME_PROPERTY, before);
            }
        }
    }

    private static String plan(String... args) {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        SandboxPlan.print(args, new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8));
        return bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test
    void aProfileFileConfiguresAThirdPartyBundleTooWithTypedValues() throws Exception {
        Path f = tmp.resolve("mine.json");
        Files.writeString(f, """
                // comments are allowed, as in the OSGi Configurator format
                {
                  ":configurator:resource-version": 1,
                  ":configurator:symbolic-name": "org.example.profile.mine",
                  ":configurator:version": "1.0.0",
                  "dev.virtiofsd.passthrough": { "strategy": "hybrid", "cache": "always" },
                  "org.example.virtiofsd.hybrid": { "hot.fds:Integer": 4096, "tags:String[]": ["a", "b"] }
                }
                """);
        Options o = parse("--profile", f.toString(), "--shared-dir", "/srv", "--socket-path", "/tmp/s");
        Map<String, Map<String, Object>> c = Main.effectiveConfigurations(o);
        assertEquals(4096, c.get("org.example.virtiofsd.hybrid").get("hot.fds"));
        assertEquals(List.of("a", "b"), List.of((String[])
                c.get("org.example.virtiofsd.hybrid").get("tags")));
        assertEquals("hybrid", c.get(Main.PID_PASSTHROUGH).get("strategy"));
        assertEquals("always", c.get(Main.PID_PASSTHROUGH).get("cache"));
        assertEquals("mine", c.get(Main.PID_LAUNCHER).get("profile"));
        assertTrue(List.of((String[]) c.get(Main.PID_LAUNCHER).get("pids")).contains("org.example.virtiofsd.hybrid"));
    }

    @Test
    void badProfilesAreOneLine() throws Exception {
        UsageException e = assertThrows(
                UsageException.class,
                () -> parse("--profile", "nope", "--shared-dir", "/srv", "--socket-path", "/tmp/s"));
        assertTrue(e.getMessage().startsWith("--profile nope: no profile named nope in "), e.getMessage());
        Path f = tmp.resolve("bad.json");
        Files.writeString(f, "{ \"dev.virtiofsd.passthrough\": [1, 2] ");
        e = assertThrows(
                UsageException.class,
                () -> parse("--profile", f.toString(), "--shared-dir", "/srv", "--socket-path", "/tmp/s"));
        assertTrue(e.getMessage().contains("is not a valid OSGi Configurator JSON resource"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        Path t = tmp.resolve("badtransport.json");
        Files.writeString(
                t,
                "{ \":configurator:resource-version\": 1, \":configurator:symbolic-name\": \"x\","
                        + " \":configurator:version\": \"1\", \"dev.virtiofsd.launcher\": { \"transport\":"
                        + " \"carrier-pigeon\" } }");
        e = assertThrows(
                UsageException.class,
                () -> parse("--profile", t.toString(), "--shared-dir", "/srv", "--socket-path", "/tmp/s"));
        assertTrue(e.getMessage().contains("must be vhost-user or fuse-dev"), e.getMessage());
        Path sb = tmp.resolve("badsandbox.json");
        Files.writeString(
                sb,
                "{ \":configurator:resource-version\": 1, \":configurator:symbolic-name\": \"x\","
                        + " \":configurator:version\": \"1\", \"dev.virtiofsd.launcher\": { \"sandbox\":"
                        + " \"bubble\" } }");
        e = assertThrows(
                UsageException.class,
                () -> parse("--profile", sb.toString(), "--shared-dir", "/srv", "--socket-path", "/tmp/s"));
        assertTrue(e.getMessage().contains("sandbox bubble: must be one of chroot|namespace|none"), e.getMessage());
    }
}
