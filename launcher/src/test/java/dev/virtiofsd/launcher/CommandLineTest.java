package dev.virtiofsd.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CommandLineTest {
    @TempDir
    Path tmp;

    private static UsageException fails(String... args) {
        return assertThrows(UsageException.class, () -> CommandLine.parse(args));
    }

    @Test
    void bothSpellingsOfValuedOptions() throws Exception {
        Options o = CommandLine.parse(
                "--shared-dir=/srv",
                "--socket-path",
                "/run/x.sock",
                "--cache",
                "never",
                "--thread-pool-size=4",
                "--xattr",
                "--readonly",
                "--no-announce-submounts",
                "--log-level=debug",
                "--socket-group",
                "kvm");
        assertEquals("/srv", o.sharedDir);
        assertEquals("/run/x.sock", o.socketPath);
        assertEquals("never", o.cache);
        assertEquals(4, o.threadPoolSize);
        assertTrue(o.xattr);
        assertTrue(o.readonly);
        assertFalse(o.announceSubmounts);
        assertEquals("debug", o.logLevel);
        assertEquals("kvm", o.socketGroup);
        assertEquals(Options.VHOST_USER, o.transport);
    }

    @Test
    void defaultsMatchVirtiofsd() throws Exception {
        Options o = CommandLine.parse("--shared-dir", "/srv", "--fd", "3");
        assertEquals("auto", o.cache);
        assertEquals(0, o.threadPoolSize);
        assertTrue(o.announceSubmounts);
        assertFalse(o.xattr);
        assertEquals("fd", o.strategyName());
        assertEquals(3, o.fd);
    }

    @ParameterizedTest
    @CsvSource({"never,fd", "prefer,handle-preferred", "fallback,handle-preferred", "mandatory,handle-only"})
    void inodeFileHandlesPickStrategies(String mode, String strategy) throws Exception {
        Options o = CommandLine.parse("--shared-dir", "/srv", "--socket-path", "/s", "--inode-file-handles=" + mode);
        assertEquals(strategy, o.strategyName());
        assertEquals(mode.equals("fallback"), !o.warnings.isEmpty());
    }

    @Test
    void strategyOverridesInodeFileHandles() throws Exception {
        Options o = CommandLine.parse(
                "--shared-dir",
                "/srv",
                "--socket-path",
                "/s",
                "--inode-file-handles=mandatory",
                "--strategy",
                "acme-cached");
        assertEquals("acme-cached", o.strategyName());
        assertTrue(
                Main.configurations(o).get(Main.PID_PASSTHROUGH).get("strategy").equals("acme-cached"));
    }

    @Test
    void strategyNameCannotInjectIntoTheFilter() {
        UsageException e = fails("--shared-dir", "/srv", "--socket-path", "/s", "--strategy", "x)(objectClass=*");
        assertTrue(e.getMessage().startsWith("--strategy "), e.getMessage());
    }

    @Test
    void fuseDevWithoutASandboxOptionRunsWithNone() throws Exception {
        // its mount is made in the host's mount namespace, which the namespace sandbox would leave
        Options o = CommandLine.parse("--shared-dir", "/srv", "--transport=fuse-dev", "--mountpoint", "/mnt");
        assertEquals(SandboxOptions.NONE, o.sandbox);
        assertEquals("kill", o.seccomp);
        assertEquals(
                SandboxOptions.NONE,
                CommandLine.parse(
                                "--shared-dir",
                                "/srv",
                                "--transport=fuse-dev",
                                "--mountpoint",
                                "/mnt",
                                "--sandbox=none")
                        .sandbox);
        assertEquals(
                SandboxOptions.NAMESPACE, CommandLine.parse("--shared-dir", "/srv", "--socket-path", "/s").sandbox);
    }

    @Test
    void legacySandboxAndModcapsAreTheLongOptions() throws Exception {
        Options o = CommandLine.parse("--fd", "3", "-o", "source=/srv,sandbox=chroot,modcaps=+sys_nice:-mknod");
        assertEquals("chroot", o.sandbox);
        assertEquals("+sys_nice:-mknod", o.modcaps);
    }

    @Test
    void sandboxOptionsAsVirtiofsd() throws Exception {
        Options d = CommandLine.parse("--shared-dir", "/srv", "--socket-path", "/s");
        assertEquals("namespace", d.sandbox);
        assertEquals("kill", d.seccomp);
        assertEquals(null, d.modcaps);
        assertEquals(-1, d.rlimitNofile);
        Options o = CommandLine.parse(
                "--shared-dir",
                "/srv",
                "--socket-path",
                "/s",
                "--sandbox",
                "Chroot",
                "--seccomp=LOG",
                "--modcaps=+SYS_ADMIN:-cap_chown:+net_raw",
                "--rlimit-nofile",
                "4096",
                "-f",
                "--no-killpriv-v2");
        assertEquals("chroot", o.sandbox);
        assertEquals("log", o.seccomp);
        assertEquals("+sys_admin:-chown:+net_raw", o.modcaps);
        assertEquals(4096, o.rlimitNofile);
        assertEquals(0, CommandLine.parse("--shared-dir", "/srv", "--fd", "3", "--rlimit-nofile=0").rlimitNofile);
        assertEquals(
                "--sandbox jail: must be one of chroot|namespace|none",
                fails("--sandbox=jail").getMessage());
        assertEquals(
                "--seccomp allow: must be one of kill|log|none|trap",
                fails("--seccomp", "allow").getMessage());
        assertEquals(
                "--modcaps sys_admin: 'sys_admin' must start with + or -",
                fails("--modcaps", "sys_admin").getMessage());
        assertEquals(
                "--modcaps +frob: unknown capability 'frob'",
                fails("--modcaps=+frob").getMessage());
        assertEquals(
                "--modcaps +chown::-mknod: empty item: expected (+|-)capability[:...]",
                fails("--modcaps=+chown::-mknod").getMessage());
        assertEquals(
                "--rlimit-nofile -1: not a non-negative integer",
                fails("--rlimit-nofile=-1").getMessage());
        assertEquals(
                "--modcaps -dac_read_search: --inode-file-handles=prefer (open_by_handle_at) needs it",
                fails("--shared-dir", "/srv", "--fd", "3", "--inode-file-handles=prefer", "--modcaps=-dac_read_search")
                        .getMessage());
        assertEquals(
                "--transport=fuse-dev mounts on this host, which --sandbox namespace would hide from the daemon:"
                        + " add --sandbox none (--seccomp still applies)",
                fails("--shared-dir", "/srv", "--transport=fuse-dev", "--mountpoint", "/mnt", "--sandbox=namespace")
                        .getMessage());
    }

    @Test
    void capabilitiesKeptAreVirtiofsdsPlusWhatTheOptionsNeed() throws Exception {
        // virtiofsd 1.13 as root: CapEff 0x880000db (chown dac_override fowner fsetid setgid setuid mknod setfcap)
        assertEquals(0x880000dbL, Capabilities.expected(CommandLine.parse("--shared-dir", "/srv", "--fd", "3")));
        assertEquals(
                0x880000dbL | 1L << 2,
                Capabilities.expected(
                        CommandLine.parse("--shared-dir", "/srv", "--fd", "3", "--inode-file-handles=mandatory")));
        assertEquals(
                0x880000dbL | 1L << 2,
                Capabilities.expected(
                        CommandLine.parse("--shared-dir", "/srv", "--fd", "3", "--strategy", "handle-preferred")));
        // a third party's strategy, and any strategy a control socket can switch in, may open handles
        assertEquals(
                0x880000dbL | 1L << 2,
                Capabilities.expected(CommandLine.parse("--shared-dir", "/srv", "--fd", "3", "--strategy", "hybrid")));
        assertEquals(
                0x880000dbL | 1L << 2,
                Capabilities.expected(
                        CommandLine.parse("--shared-dir", "/srv", "--fd", "3", "--control-socket", "/run/c.sock")));
        assertEquals(
                "--modcaps -dac_read_search: --control-socket (a strategy with file handles can be switched in;"
                        + " open_by_handle_at) needs it",
                fails("--shared-dir", "/srv", "--fd", "3", "--control-socket", "/c", "--modcaps=-dac_read_search")
                        .getMessage());
        assertEquals(
                0x880000dbL | 1L << 18,
                Capabilities.expected(CommandLine.parse("--shared-dir", "/srv", "--fd", "3", "--sandbox=chroot")));
        assertEquals(
                0x880000dbL | 1L << 21,
                Capabilities.expected(CommandLine.parse(
                        "--shared-dir", "/srv", "--transport=fuse-dev", "--mountpoint", "/m", "--sandbox=none")));
        assertEquals(
                (0x880000dbL | 1L << 23) & ~(1L << 27),
                Capabilities.expected(
                        CommandLine.parse("--shared-dir", "/srv", "--fd", "3", "--modcaps=+sys_nice:-mknod")));
        assertEquals("chown,dac_override,fowner,fsetid,setgid,setuid,mknod,setfcap", Capabilities.names(0x880000dbL));
        assertEquals("none", Capabilities.names(0));
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '#',
            value = {
                "--bogus#unknown option --bogus (see --help)",
                "--cache=sometimes#--cache sometimes: must be one of always|auto|metadata|never",
                "--thread-pool-size=-1#--thread-pool-size -1: not a non-negative integer",
                "--fd=abc#--fd abc: not a non-negative integer",
                "--inode-file-handles=maybe#--inode-file-handles maybe: must be one of fallback|mandatory|never|prefer",
                "--log-level=loud#--log-level loud: must be one of debug|error|info|off|trace|warn",
                "--transport=tcp#--transport tcp: must be one of fuse-dev|vhost-user",
                "--xattr=yes#--xattr takes no value, got 'yes'",
                "stray#unexpected argument 'stray' (options start with --; see --help)",
                "--shared-dir#--shared-dir needs a value SHARED_DIR",
            })
    void badOptionsGiveOneLineNamingThem(String arg, String message) {
        UsageException e = fails(arg);
        assertEquals(message, e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertEquals(UsageException.USAGE, e.exitStatus());
    }

    @Test
    void requiredAndConflictingOptions() {
        assertEquals("--shared-dir is required", fails("--socket-path", "/s").getMessage());
        assertEquals(
                "--socket-path or --fd is required",
                fails("--shared-dir", "/srv").getMessage());
        assertEquals(
                "--fd cannot be used with --socket-path",
                fails("--shared-dir", "/srv", "--socket-path", "/s", "--fd", "3")
                        .getMessage());
        assertEquals(
                "--socket-group cannot be used with --fd",
                fails("--shared-dir", "/srv", "--fd", "3", "--socket-group", "kvm")
                        .getMessage());
        assertEquals(
                "--transport=fuse-dev needs --mountpoint DIR",
                fails("--shared-dir", "/srv", "--transport", "fuse-dev").getMessage());
        assertEquals(
                "--mountpoint needs --transport=fuse-dev",
                fails("--shared-dir", "/srv", "--socket-path", "/s", "--mountpoint", "/m")
                        .getMessage());
    }

    @Test
    void deprecatedSocketStillWorks() throws Exception {
        Options o = CommandLine.parse("--shared-dir", "/srv", "--socket", "/run/s.sock");
        assertEquals("/run/s.sock", o.socketPath);
        assertTrue(o.deprecatedSocket);
    }

    @Test
    void validateChecksTheMachine() throws Exception {
        Path file = Files.createFile(tmp.resolve("file"));
        UsageException e = assertThrows(
                UsageException.class,
                () -> CommandLine.validate(
                        CommandLine.parse("--shared-dir", "/nonexistent", "--socket-path", "/tmp/x.sock")));
        assertEquals("--shared-dir /nonexistent: no such directory", e.getMessage());
        assertEquals(UsageException.INVALID, e.exitStatus());
        assertEquals(
                "--shared-dir " + file + ": not a directory",
                assertThrows(
                                UsageException.class,
                                () -> CommandLine.validate(
                                        CommandLine.parse("--shared-dir", file.toString(), "--socket-path", "/s")))
                        .getMessage());
        assertEquals(
                "--socket-path /nope/x.sock: directory /nope does not exist",
                assertThrows(
                                UsageException.class,
                                () -> CommandLine.validate(CommandLine.parse(
                                        "--shared-dir", tmp.toString(), "--socket-path", "/nope/x.sock")))
                        .getMessage());
        assertEquals(
                "--mountpoint /nope: no such directory",
                assertThrows(
                                UsageException.class,
                                () -> CommandLine.validate(CommandLine.parse(
                                        "--shared-dir",
                                        tmp.toString(),
                                        "--transport=fuse-dev",
                                        "--sandbox=none",
                                        "--mountpoint",
                                        "/nope")))
                        .getMessage());
        assertEquals(
                "--bundles /nope: no such directory",
                assertThrows(
                                UsageException.class,
                                () -> CommandLine.validate(CommandLine.parse(
                                        "--shared-dir",
                                        tmp.toString(),
                                        "--socket-path",
                                        tmp.resolve("s").toString(),
                                        "--bundles",
                                        "/nope")))
                        .getMessage());
        assertEquals(
                "--fd 999999: not an open file descriptor",
                assertThrows(
                                UsageException.class,
                                () -> CommandLine.validate(
                                        CommandLine.parse("--shared-dir", tmp.toString(), "--fd", "999999")))
                        .getMessage());
        CommandLine.validate(CommandLine.parse(
                "--shared-dir",
                tmp.toString(),
                "--socket-path",
                tmp.resolve("s.sock").toString()));
    }

    @Test
    void helpListsEveryOption() throws Exception {
        String help = CommandLine.help();
        for (String name : CommandLine.optionNames()) {
            assertTrue(help.contains(name), name + " missing from --help");
        }
        for (String required : List.of(
                "--shared-dir",
                "--socket-path",
                "--socket",
                "--fd",
                "--socket-group",
                "--thread-pool-size",
                "--inode-file-handles",
                "--cache",
                "--xattr",
                "--readonly",
                "--announce-submounts",
                "--no-announce-submounts",
                "--log-level",
                "--help",
                "--version",
                "--print-capabilities",
                "--transport",
                "--mountpoint",
                "--bundles",
                "--strategy")) {
            assertTrue(CommandLine.optionNames().contains(required), required);
        }
    }

    private static String[] runPreflight(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.preflight(
                new Options[1],
                args,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new String[] {
            String.valueOf(status), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)
        };
    }

    private static Map<String, Object> readJson(String text) {
        try {
            return new ObjectMapper().readValue(text, new TypeReference<Map<String, Object>>() {});
        } catch (JsonProcessingException e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }

    @Test
    void printCapabilitiesIsVhostUserJsonOfTypeFs() {
        String[] r = runPreflight("--print-capabilities");
        assertEquals("0", r[0]);
        Map<String, Object> json = readJson(r[1]);
        assertEquals("fs", json.get("type"));
        assertEquals(List.of("migrate-precopy", "separate-options"), json.get("features"));
        assertEquals("", r[2]);
    }

    @Test
    void helpAndVersionExitZero() {
        String[] help = runPreflight("--help");
        assertEquals("0", help[0]);
        assertTrue(help[1].contains("--shared-dir"));
        String[] version = runPreflight("-V");
        assertEquals("0", version[0]);
        assertTrue(version[1].startsWith("virtiofsd-java "), version[1]);
    }

    @Test
    void errorsArePrintedAsOneLine() {
        String[] r = runPreflight("--shared-dir", "/nonexistent", "--socket-path", "/tmp/x.sock");
        assertEquals("1", r[0]);
        assertEquals("virtiofsd-java: --shared-dir /nonexistent: no such directory\n", r[2]);
        assertEquals("", r[1]);
        String[] bad = runPreflight("--frobnicate");
        assertEquals("2", bad[0]);
        assertEquals(1, bad[2].lines().count());
    }

    private static final List<String> FEATURE_KEYS = List.of(
            "posix.acl",
            "security.label",
            "writeback",
            "allow.direct.io",
            "allow.mmap",
            "readdirplus",
            "killpriv.v2",
            "preserve.noatime",
            "posix.locks",
            "flock.locks");

    private static Map<String, Object> withoutFeatures(Map<String, Object> m) {
        Map<String, Object> copy = new java.util.HashMap<>(m);
        FEATURE_KEYS.forEach(copy::remove);
        return copy;
    }

    @Test
    void configurationsFollowTheContract() throws Exception {
        Options vu = CommandLine.parse(
                "--shared-dir",
                "/srv/../srv",
                "--socket-path",
                "/run/v.sock",
                "--thread-pool-size",
                "8",
                "--socket-group",
                "kvm",
                "--cache",
                "always",
                "--xattr");
        Map<String, Map<String, Object>> c = Main.configurations(vu);
        assertEquals(
                Map.of(
                        "shared.dir",
                        "/srv",
                        "cache",
                        "always",
                        "xattr",
                        true,
                        "readonly",
                        false,
                        "announce.submounts",
                        true,
                        "strategy",
                        "fd",
                        "migration.mode",
                        "find-paths",
                        "migration.on.error",
                        "abort",
                        "migration.verify.handles",
                        false,
                        "migration.confirm.paths",
                        false),
                withoutFeatures(c.get(Main.PID_PASSTHROUGH)));
        assertEquals(
                Map.of(
                        "socket.path",
                        "/run/v.sock",
                        "fd",
                        -1,
                        "socket.group",
                        "kvm",
                        "thread.pool.size",
                        8,
                        "confined",
                        false),
                c.get(Main.PID_VHOST_USER));
        assertEquals(
                true, Main.configurations(vu, true).get(Main.PID_VHOST_USER).get("confined"));
        assertFalse(c.containsKey(Main.PID_FUSE_DEV));
        Options fd = CommandLine.parse(
                "--shared-dir", "/srv", "--transport=fuse-dev", "--mountpoint", "/mnt", "--sandbox", "none");
        Map<String, Map<String, Object>> f = Main.configurations(fd);
        assertEquals(Map.of("mountpoint", "/mnt", "threads", 2), f.get(Main.PID_FUSE_DEV));
        assertFalse(f.containsKey(Main.PID_VHOST_USER));
    }

    @Test
    void migrationOptionsBecomePassthroughConfiguration() throws UsageException {
        Options o = CommandLine.parse(
                "--shared-dir",
                "/srv",
                "--socket-path",
                "/s",
                "--migration-mode=file-handles",
                "--migration-on-error",
                "guest-error",
                "--migration-verify-handles",
                "--migration-confirm-paths");
        java.util.Map<String, Object> fs = new java.util.HashMap<>();
        o.migration.addTo(fs);
        assertEquals("file-handles", fs.get("migration.mode"));
        assertEquals("guest-error", fs.get("migration.on.error"));
        assertEquals(true, fs.get("migration.verify.handles"));
        assertEquals(true, fs.get("migration.confirm.paths"));
        Options d = CommandLine.parse("--shared-dir", "/srv", "--socket-path", "/s");
        assertEquals("find-paths", d.migration.mode);
        assertEquals("abort", d.migration.onError);
    }

    @Test
    void badMigrationValuesAreNamed() {
        assertTrue(fails("--shared-dir", "/srv", "--socket-path", "/s", "--migration-mode", "by-magic")
                .getMessage()
                .startsWith("--migration-mode "));
        assertTrue(fails("--shared-dir", "/srv", "--socket-path", "/s", "--migration-on-error=ignore")
                .getMessage()
                .startsWith("--migration-on-error "));
    }
}
