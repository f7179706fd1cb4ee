package dev.virtiofsd.it.guest;

import dev.virtiofsd.frontend.guest.Cpio;
import dev.virtiofsd.frontend.guest.Initramfs;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds the guest's busybox initramfs: static busybox, the virtio-fs module chain from
 * {@link GuestEnvironment#kernelDir()}, /init and the workloads from the test resources
 * (guest/*.sh), /etc/passwd with a non-root user (uid 1000), and the host's setfattr/getfattr
 * with the shared libraries they need (busybox has no xattr applets). The root directory is
 * mode 755: with 700 every non-root guest user gets EACCES everywhere.
 */
public final class GuestImage {
    static final String[] RESOURCES = {
        "init.sh",
        "workload-mount.sh",
        "workload-reboot.sh",
        "workload-migrate.sh",
        "workload-features.sh",
        "workload-mapping.sh",
        "workload-directio.sh",
        "workload-smoke.sh",
        "workload-live.sh"
    };
    static final String[] XATTR_TOOLS = {"/usr/bin/setfattr", "/usr/bin/getfattr"};

    private static Path cached;

    private GuestImage() {}

    /** The initramfs, built once per JVM (all workloads share it; the command line picks one). */
    public static synchronized Path initramfs() throws IOException, InterruptedException {
        if (cached == null || !Files.isRegularFile(cached)) {
            Path file = GuestEnvironment.workRoot().resolve("initramfs.cpio");
            build(GuestEnvironment.kernelDir(), file);
            cached = file;
        }
        return cached;
    }

    static void build(Path kernelDir, Path target) throws IOException, InterruptedException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        List<String> moreDirs = List.of("etc", "root", "home");
        Set<String> dirs = new LinkedHashSet<>(Initramfs.DIRS);
        dirs.addAll(moreDirs);
        try (Cpio cpio = new Cpio(tmp)) {
            Initramfs.base(cpio, moreDirs, resource("init.sh"));
            cpio.dir("home/user", 0755); // owned by root; the user never writes its home
            for (String r : RESOURCES) {
                if (!r.equals("init.sh")) cpio.file(r, 0644, resource(r));
            }
            cpio.file(
                    "etc/passwd",
                    0644,
                    ("root:x:0:0:root:/root:/bin/sh\n" + "user:x:1000:1000:user:/home/user:/bin/sh\n"
                                    + "other:x:1001:1001:other:/home/user:/bin/sh\n")
                            .getBytes(StandardCharsets.US_ASCII));
            cpio.file(
                    "etc/group", 0644, "root:x:0:\nuser:x:1000:\nother:x:1001:\n".getBytes(StandardCharsets.US_ASCII));
            cpio.file("bin/vfstool", 0755, vfstool(target.resolveSibling("vfstool")));
            cpio.file("etc/shells", 0644, "/bin/sh\n".getBytes(StandardCharsets.US_ASCII));

            Initramfs.modules(cpio, kernelDir);

            // Dynamic host binaries go in with their libraries at the same absolute paths.
            Set<String> files = new LinkedHashSet<>();
            for (String tool : XATTR_TOOLS) {
                if (!Files.isExecutable(Paths.get(tool))) continue; // the xattr check then fails, saying so
                files.add(tool);
                files.addAll(sharedLibraries(tool));
            }
            for (String f : files) {
                String rel = f.substring(1);
                Path parent = Paths.get(rel).getParent();
                List<String> missing = new ArrayList<>();
                for (Path p = parent; p != null; p = p.getParent()) {
                    if (!dirs.contains(p.toString())) missing.add(0, p.toString());
                }
                for (String d : missing) {
                    cpio.dir(d, 0755);
                    dirs.add(d);
                }
                cpio.file(rel, 0755, Paths.get(f).toRealPath());
            }
        }
        Files.move(tmp, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * The guests' test helper (xattrs, raw ACLs, O_DIRECT, mmap, umask; busybox has none of them),
     * compiled from the test resource guest/vfstool.c with gcc -static (gcc and libc6-dev come
     * with .ci/install-deps.sh).
     */
    static Path vfstool(Path out) throws IOException, InterruptedException {
        Path src = out.resolveSibling("vfstool.c");
        Files.write(src, resource("vfstool.c"));
        Process p = new ProcessBuilder("gcc", "-static", "-O2", "-Wall", "-o", out.toString(), src.toString())
                .redirectErrorStream(true)
                .start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("gcc -static vfstool.c failed (gcc and libc6-dev are installed by"
                    + " .ci/install-deps.sh): " + log);
        }
        return out;
    }

    private static final Pattern LDD_LINE = Pattern.compile("(?:=>\\s*)?(/\\S+)\\s+\\(0x");

    static List<String> sharedLibraries(String binary) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ldd", binary).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("ldd " + binary + " failed: " + out);
        }
        List<String> libs = new ArrayList<>();
        for (String line : out.split("\n", -1)) {
            Matcher m = LDD_LINE.matcher(line);
            if (m.find()) libs.add(m.group(1));
        }
        return libs;
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream in = GuestImage.class.getResourceAsStream("/guest/" + name)) {
            if (in == null) throw new IOException("test resource guest/" + name + " missing from the class path");
            return in.readAllBytes();
        }
    }
}
