package dev.virtiofsd.it.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The virtiofsd features in a real guest (Debian 6.1 kernel, FUSE 7.37), each seen from both
 * sides: ACLs enforced by the guest and stored on the host, the umask applied only where no
 * default ACL is, killpriv v2 clearing setuid/setgid on another user's write, writeback and mmap
 * data, O_NOATIME kept, xattr names mapped both ways, uids/gids translated both ways, O_DIRECT kept
 * only when allowed, the guest's security label stored on the host.
 */
class GuestFeaturesIT {
    /** The option set of the independent functional check. */
    static final List<String> FEATURES = List.of(
            "--xattr",
            "--posix-acl",
            "--writeback",
            "--allow-mmap",
            "--killpriv-v2",
            "--preserve-noatime",
            "--cache=always");

    private static DaemonCommand daemon(GuestRun run, List<String> extra) throws Exception {
        DaemonCommand base = DaemonCommand.selected(run.sharedDir(), run.socket(), null, false);
        List<String> a = new ArrayList<>(base.argv());
        a.addAll(extra);
        return new DaemonCommand(base.name(), a);
    }

    static byte pattern(long i, int seed) {
        long x = i * 0x9E3779B97F4A7C15L + seed;
        x ^= x >>> 29;
        return (byte) (x ^ (x >>> 17));
    }

    static void assertPattern(Path file, long bytes, int seed) throws Exception {
        assertEquals(bytes, Files.size(file), file.toString());
        byte[] b = Files.readAllBytes(file);
        for (int i = 0; i < b.length; i++) {
            if (b[i] != pattern(i, seed)) {
                throw new AssertionError(file + ": byte " + i + " differs on the host");
            }
        }
    }

    static String host(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), () -> String.join(" ", command) + ": " + out);
        return out;
    }

    static int mode(Path p) throws Exception {
        return (int) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
    }

    static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    @Test
    void aclsKillprivWritebackMmapNoatimeAndTheMountWorkload() throws Exception {
        GuestSupport.assumeDaemonAvailable();
        GuestRun run = GuestRun.prepare("features");
        Path shared = run.sharedDir();
        Path sub = Files.createDirectories(shared.resolve("sub"));
        Instant old = Instant.parse("2001-01-01T00:00:00Z");
        for (String n : new String[] {"na", "nb"}) {
            Files.writeString(shared.resolve(n), "atime\n");
            Files.setAttribute(shared.resolve(n), "lastAccessTime", FileTime.from(old));
        }
        DaemonFds fds = new DaemonFds(shared);
        run.whileServing(fds::watch);
        GuestResult r;
        host("mount", "-t", "tmpfs", "-o", "size=1m", "virtiofsd-it-submount", sub.toString());
        try {
            Files.writeString(sub.resolve("marker"), "submount\n");
            r = run.execute(daemon(run, FEATURES), "features", true, false);
        } finally {
            host("umount", sub.toString());
        }
        List<String> expected = new ArrayList<>(List.of(
                "mount",
                "acl-enforced",
                "acl-default-umask",
                "killpriv-v2",
                "writeback",
                "mmap",
                "noatime",
                "no-direct-io"));
        expected.addAll(GuestMountIT.expectedChecks(true)
                .subList(1, GuestMountIT.expectedChecks(true).size()));
        GuestSupport.assertCleanRun(r, expected, 1);

        // ACLs: stored on the host as the guest set them
        String acl = host("getfacl", "-n", "-p", shared.resolve("acl/f").toString());
        assertTrue(acl.contains("user:1000:rw-") && acl.contains("mask::r--"), acl);
        assertEquals(0660, mode(shared.resolve("acl/dflt/f")));
        assertEquals(0600, mode(shared.resolve("acl/plain/f")));
        assertEquals(0750, mode(shared.resolve("acl/plain/d")));
        assertTrue(host("getfacl", "-n", "-p", shared.resolve("acl/dflt/d").toString())
                .contains("default:user:1000:rwx"));
        // killpriv v2: setuid/setgid cleared on the host by another user's write and truncate
        assertEquals(0777, mode(shared.resolve("kp")));
        assertEquals(0777, mode(shared.resolve("kg")));
        assertEquals(02766, mode(shared.resolve("kn")));
        assertEquals(0777, mode(shared.resolve("kt")));
        assertEquals(04755, mode(shared.resolve("kr")));
        // writeback and mmap: the bytes the guest wrote are on the host
        assertEquals(r.values.get("wb.sha256"), sha256(shared.resolve("wb")));
        assertEquals("abXYef", Files.readString(shared.resolve("wo")));
        assertPattern(shared.resolve("mm"), 4 << 20, 11);
        // --preserve-noatime: the O_NOATIME read left the atime alone, the plain read did not
        assertEquals(old, ((FileTime) Files.getAttribute(shared.resolve("na"), "lastAccessTime")).toInstant());
        assertNotEquals(old, ((FileTime) Files.getAttribute(shared.resolve("nb"), "lastAccessTime")).toInstant());
        // no --allow-direct-io: the guest's O_DIRECT stops at the daemon
        Integer nodio = fds.flags("nodio");
        assertNotNull(nodio, () -> "the daemon's fd on nodio was not seen: " + fds);
        assertEquals(0, nodio & DaemonFds.O_DIRECT, () -> "O_DIRECT reached the host: " + fds);
        assertEquals(r.values.get("big.written.sha256"), sha256(shared.resolve("big")));
        run.deleteSharedDir();
    }

    @Test
    void xattrMapAndIdTranslationSeenFromBothSides() throws Exception {
        GuestSupport.assumeDaemonAvailable();
        GuestRun run = GuestRun.prepare("mapping");
        Path shared = run.sharedDir();
        Path hostx = Files.writeString(shared.resolve("hostx"), "h\n");
        UserDefinedFileAttributeView hv = Files.getFileAttributeView(hostx, UserDefinedFileAttributeView.class);
        hv.write("virtiofs.user.hostset", ByteBuffer.wrap("h".getBytes(StandardCharsets.UTF_8)));
        hv.write("plain", ByteBuffer.wrap("p".getBytes(StandardCharsets.UTF_8)));
        Path ids = Files.createDirectories(shared.resolve("ids"));
        host("chown", "2000:3000", ids.toString());
        host("chmod", "755", ids.toString());
        host("chown", "2005:3007", Files.writeString(ids.resolve("h2005"), "x").toString());
        host("chown", "4242:4242", Files.writeString(ids.resolve("h4242"), "x").toString());
        GuestResult r = run.execute(
                daemon(
                        run,
                        List.of(
                                "--xattrmap=:map::user.virtiofs.:",
                                "--translate-uid=map:1000:2000:10",
                                "--translate-gid=map:1000:3000:10",
                                "--translate-uid=forbid-guest:1500:1")),
                "mapping",
                true,
                false);
        GuestSupport.assertCleanRun(r, List.of("mount", "xattrmap", "translate-uid", "umount"), 1);
        UserDefinedFileAttributeView xv =
                Files.getFileAttributeView(shared.resolve("xm"), UserDefinedFileAttributeView.class);
        assertEquals(List.of("virtiofs.user.color"), xv.list(), "the guest's names carry the prefix on the host");
        ByteBuffer b = ByteBuffer.allocate(16);
        xv.read("virtiofs.user.color", b);
        assertEquals("red", new String(b.array(), 0, b.position(), StandardCharsets.UTF_8));
        assertEquals(
                "2000:3000",
                host("stat", "-c", "%u:%g", ids.resolve("g1000").toString()).strip());
        assertEquals(
                "2000:3000",
                host("stat", "-c", "%u:%g", ids.resolve("gd").toString()).strip());
        assertEquals(
                "2003:3004",
                host("stat", "-c", "%u:%g", ids.resolve("chowned").toString()).strip());
        assertEquals(
                "0:0",
                host("stat", "-c", "%u:%g", ids.resolve("forbidden").toString()).strip());
        run.deleteSharedDir();
    }

    @Test
    void directIoKeptWhenAllowedAndSecurityLabelStored() throws Exception {
        GuestSupport.assumeDaemonAvailable();
        GuestRun run = GuestRun.prepare("directio").kernelArgs("selinux=1 security=selinux");
        Path shared = run.sharedDir();
        DaemonFds fds = new DaemonFds(shared);
        run.whileServing(fds::watch);
        GuestResult r = run.execute(
                daemon(run, List.of("--allow-direct-io", "--security-label", "--xattr")), "directio", true, false);
        GuestSupport.assertCleanRun(r, List.of("mount", "direct-io", "security-label", "umount"), 1);
        assertPattern(shared.resolve("dio"), 4 << 20, 5);
        Integer dio = fds.flags("dio");
        assertNotNull(dio, () -> "the daemon's fd on dio was not seen: " + fds);
        assertEquals(DaemonFds.O_DIRECT, dio & DaemonFds.O_DIRECT, () -> "O_DIRECT was dropped: " + fds);
        String label = r.values.get("seclabel.file");
        assertNotNull(label, r.describe());
        for (String n : new String[] {"labelled", "labelled-dir", "labelled-link", "labelled-fifo"}) {
            String v = host(
                    "getfattr",
                    "-h",
                    "--absolute-names",
                    "--only-values",
                    "-n",
                    "security.selinux",
                    shared.resolve(n).toString());
            assertEquals(label, v.replace("\0", "").strip(), n);
        }
        run.deleteSharedDir();
    }
}
