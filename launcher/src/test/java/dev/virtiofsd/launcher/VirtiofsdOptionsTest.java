package dev.virtiofsd.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The virtiofsd 1.13 options and the legacy -o list, as parsed and handed to the bundles. */
class VirtiofsdOptionsTest {
    private static Options parse(String... args) throws UsageException {
        return CommandLine.parse(args);
    }

    private static String fails(String... args) {
        return assertThrows(UsageException.class, () -> CommandLine.parse(args)).getMessage();
    }

    @Test
    void libvirtCommandLineWithEveryElement() throws Exception {
        // what libvirt 9.0 runs for <driver type='virtiofs'/> with <cache>, xattr, <lock>, <thread_pool>
        Options o = parse(
                "--fd=31", "-o", "source=/srv/a,,b,cache=none,xattr,flock,posix_lock", "--thread-pool-size=16", "-d");
        assertEquals("/srv/a,b", o.sharedDir, "a doubled comma is a comma of the path");
        assertEquals("never", o.cache);
        assertTrue(o.xattr);
        assertTrue(o.flockLocks);
        assertTrue(o.posixLocks);
        assertEquals(16, o.threadPoolSize);
        assertEquals(31, o.fd);
        assertEquals("debug", o.logLevel);
        assertTrue(o.compatOptions);
        assertTrue(o.warnings.stream().anyMatch(w -> w.startsWith("Use of deprecated option format '-o'")));
        assertTrue(o.warnings.stream().anyMatch(w -> w.startsWith("Use of deprecated flag '-d'")));
    }

    @Test
    void libvirtLocksOff() throws Exception {
        Options o = parse("--fd=3", "-o", "source=/srv,no_xattr,no_flock,no_posix_lock");
        assertFalse(o.xattr);
        assertFalse(o.flockLocks);
        assertFalse(o.posixLocks);
        Map<String, Object> fs = Main.configurations(o).get(Main.PID_PASSTHROUGH);
        assertEquals(false, fs.get("posix.locks"));
        assertEquals(false, fs.get("flock.locks"));
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '#',
            value = {
                "cache=sometimes#Invalid compat value 'sometimes' for '-o cache'",
                "loglevel=trace#Invalid compat value 'trace' for '-o loglevel'",
                "sandbox=none#Invalid compat value 'none' for '-o sandbox'",
                "bogus#Invalid compat argument '-o bogus'",
                "bogus=1#Invalid compat argument '-o bogus=1'"
            })
    void legacyErrorsAreVirtiofsds(String list, String message) {
        assertEquals(message, fails("--socket-path=/s", "-o", "source=/srv," + list));
    }

    @Test
    void legacyValuesMapOntoLongOptions() throws Exception {
        Options o = parse(
                "--socket-path=/s",
                "-osource=/srv,xattrmap=:map::user.virtiofs.:,cache=always,loglevel=err",
                "-o",
                "no_readdirplus,writeback,allow_direct_io,announce_submounts,killpriv_v2,posix_acl,security_label");
        assertEquals("/srv", o.sharedDir);
        assertEquals(":map::user.virtiofs.:", o.xattrmap);
        assertEquals(2, o.xattrmapRules.size());
        assertEquals("always", o.cache);
        assertEquals("error", o.logLevel);
        assertTrue(o.noReaddirplus && o.writeback && o.allowDirectIo && o.killprivV2 && o.posixAcl && o.securityLabel);
        Options off = parse(
                "--socket-path=/s",
                "--writeback",
                "--posix-acl",
                "-o",
                "source=/srv,no_writeback,no_allow_direct_io,no_killpriv_v2,no_posix_acl,no_security_label,readdirplus");
        assertFalse(off.writeback || off.allowDirectIo || off.killprivV2 || off.posixAcl || off.securityLabel);
        assertFalse(off.noReaddirplus);
        // -o sandbox= and modcaps= set what --sandbox and --modcaps set (bin/virtiofsd-java reads them too)
        Options legacy = parse("--socket-path=/s", "-o", "source=/srv,sandbox=chroot,modcaps=+sys_nice:-mknod");
        Options longForm =
                parse("--socket-path=/s", "--shared-dir=/srv", "--sandbox=chroot", "--modcaps=+sys_nice:-mknod");
        assertEquals(longForm.sandbox, legacy.sandbox);
        assertEquals(SandboxOptions.CHROOT, legacy.sandbox);
        assertEquals(Capabilities.expected(longForm), Capabilities.expected(legacy));
        assertEquals(SandboxOptions.NAMESPACE, parse("--socket-path=/s", "-osource=/srv,sandbox=namespace").sandbox);
        // virtiofsd's legacy list knows only namespace and chroot
        assertEquals(
                "Invalid compat value 'none' for '-o sandbox'",
                fails("--socket-path=/s", "-o", "source=/srv,sandbox=none"));
    }

    @Test
    void featureFlagsAndTheirConfiguration() throws Exception {
        Options o = parse(
                "--shared-dir=/srv",
                "--socket-path=/s",
                "--posix-acl",
                "--writeback",
                "--allow-mmap",
                "--killpriv-v2",
                "--preserve-noatime",
                "--allow-direct-io",
                "--no-readdirplus",
                "--security-label",
                "--syslog",
                "--tag",
                "myfs",
                "--xattrmap",
                "/prefix/all/trusted./user.virtiofs./ /ok/all///");
        assertTrue(o.xattrEnabled(), "--posix-acl implies --xattr");
        assertTrue(o.syslog);
        Map<String, Object> fs = Main.configurations(o).get(Main.PID_PASSTHROUGH);
        for (String key : List.of(
                "posix.acl",
                "writeback",
                "allow.mmap",
                "killpriv.v2",
                "preserve.noatime",
                "allow.direct.io",
                "security.label",
                "xattr")) {
            assertEquals(true, fs.get(key), key);
        }
        assertEquals(false, fs.get("readdirplus"));
        assertArrayEquals(
                new String[] {"prefix\0all\0trusted.\0user.virtiofs.", "ok\0all\0\0"}, (String[]) fs.get("xattrmap"));
        assertEquals("myfs", Main.configurations(o).get(Main.PID_VHOST_USER).get("tag"));
        // killpriv: the last of --killpriv-v2/--no-killpriv-v2 wins
        assertFalse(parse("--shared-dir=/srv", "--socket-path=/s", "--killpriv-v2", "--no-killpriv-v2").killprivV2);
        // --cache=never turns READDIRPLUS off, as virtiofsd
        assertEquals(
                false,
                Main.configurations(parse("--shared-dir=/srv", "--socket-path=/s", "--cache=never"))
                        .get(Main.PID_PASSTHROUGH)
                        .get("readdirplus"));
    }

    @Test
    void idTranslations() throws Exception {
        Options o = parse(
                "--shared-dir=/srv",
                "--socket-path=/s",
                "--translate-uid",
                "squash-guest:0:1001:4294967295",
                "--translate-uid=host:1001:1000:1",
                "--translate-gid=map:0:100:1");
        Map<String, Object> fs = Main.configurations(o).get(Main.PID_PASSTHROUGH);
        assertArrayEquals(new String[] {"squash-guest:0:1001:4294967295", "host:1001:1000:1"}, (String[])
                fs.get("translate.uid"));
        assertArrayEquals(new String[] {"map:0:100:1"}, (String[]) fs.get("translate.gid"));
        assertEquals(
                "--translate-uid cannot be used with --posix-acl (translating ids would break posix ACLs)",
                fails("--shared-dir=/srv", "--socket-path=/s", "--posix-acl", "--translate-uid=map:0:1:1"));
        assertTrue(fails("--shared-dir=/srv", "--socket-path=/s", "--translate-gid=nope:1:2:3")
                .startsWith("--translate-gid nope:1:2:3: unknown type 'nope'"));
    }

    @Test
    void tagAndXattrmapErrors() {
        assertEquals(
                "--tag " + "x".repeat(37) + ": a tag is 1 to 36 bytes",
                fails("--shared-dir=/srv", "--socket-path=/s", "--tag", "x".repeat(37)));
        assertEquals(
                "--xattrmap :prefix:client:hi: rule 1 is incomplete (a field lacks its closing ':')",
                fails("--shared-dir=/srv", "--socket-path=/s", "--xattrmap", ":prefix:client:hi"));
    }

    @Test
    void uidMapIsForUnprivilegedDaemons() throws Exception {
        Options o =
                parse("--shared-dir=/tmp", "--socket-path=/tmp/x.sock", "--uid-map=:0:1000:1:", "--gid-map=:0:1000:1:");
        assertEquals(1, o.uidMap.size());
        String before = System.getProperty(CommandLine.STARTING_UID_PROPERTY);
        try {
            // started by root (bin/virtiofsd-java passes the uid it was started with): refused as by virtiofsd
            System.setProperty(CommandLine.STARTING_UID_PROPERTY, "0");
            UsageException e = assertThrows(UsageException.class, () -> CommandLine.validate(o));
            assertEquals(
                    "--uid-map can only be used by an unprivileged user (the user namespace of --sandbox=namespace);"
                            + " root needs no id map",
                    e.getMessage());
            // started by an unprivileged user: the namespace sandbox takes the maps
            System.setProperty(CommandLine.STARTING_UID_PROPERTY, "1000");
            CommandLine.validate(o);
            CommandLine.validate(parse(
                    "--shared-dir=/tmp",
                    "--socket-path=/tmp/x.sock",
                    "--uid-map=/0/1000/1/",
                    "--uid-map=:1:100000:65536:",
                    "--gid-map=:1:100000:65536:",
                    "--gid-map=:0:1000:1:"));
            assertEquals(
                    "--gid-map describes the user namespace of --sandbox namespace, not of --sandbox none",
                    assertThrows(
                                    UsageException.class,
                                    () -> CommandLine.validate(parse(
                                            "--shared-dir=/tmp",
                                            "--socket-path=/tmp/x.sock",
                                            "--sandbox=none",
                                            "--gid-map=:0:1000:1:")))
                            .getMessage());
            assertEquals(
                    "--uid-map must map namespace uid 0 (the daemon runs as root in its user namespace),"
                            + " e.g. --uid-map=:0:1000:1:",
                    assertThrows(
                                    UsageException.class,
                                    () -> CommandLine.validate(parse(
                                            "--shared-dir=/tmp", "--socket-path=/tmp/x.sock", "--uid-map=:1:1000:1:")))
                            .getMessage());
            assertEquals(
                    "--gid-map must map namespace gid 0 (the daemon runs as root in its user namespace),"
                            + " e.g. --gid-map=:0:GID:1:",
                    assertThrows(
                                    UsageException.class,
                                    () -> CommandLine.validate(parse(
                                            "--shared-dir=/tmp",
                                            "--socket-path=/tmp/x.sock",
                                            "--uid-map=:0:1000:1:",
                                            "--gid-map=:0:1000:0:")))
                            .getMessage());
        } finally {
            if (before == null) {
                System.clearProperty(CommandLine.STARTING_UID_PROPERTY);
            } else {
                System.setProperty(CommandLine.STARTING_UID_PROPERTY, before);
            }
        }
    }

    @Test
    void deprecatedFlagsWarnAsVirtiofsd() throws Exception {
        Options o = parse("--shared-dir=/srv", "--socket-path=/s", "-f", "--inode-file-handles=fallback");
        assertEquals(
                List.of(
                        "Use of deprecated flag '-f': This flag has no effect, please remove it",
                        "Use of deprecated value 'fallback' for '--inode-file-handles': Please use 'prefer' instead"),
                o.warnings);
    }

    @Test
    void sharedDirFromSourceAloneIsEnough() throws Exception {
        assertEquals("--shared-dir or -o source is required", fails("--socket-path=/s", "-o", "xattr"));
        assertEquals("/srv", parse("--socket-path=/s", "-o", "source=/srv").sharedDir);
    }
}
