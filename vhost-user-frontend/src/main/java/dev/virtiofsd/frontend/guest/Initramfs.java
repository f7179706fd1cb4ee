package dev.virtiofsd.frontend.guest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What every busybox initramfs of the guest tests and the guest benchmark holds: the root and the
 * usual directories, /dev/console and /dev/null, static busybox as /bin/sh, an /init script, and
 * the virtio-fs module chain of a kernel layout from scripts/guest/fetch-kernel.sh (its modules/
 * folder, loaded in the order of modules/ORDER).
 */
public final class Initramfs {
    private static final Path BUSYBOX = Path.of("/bin/busybox");

    /** The directories every image has (mode 755, parents first), /tmp aside. */
    public static final List<String> DIRS =
            List.of("bin", "sbin", "usr", "usr/bin", "usr/sbin", "proc", "sys", "dev", "mnt", "lib", "lib/modules");

    private Initramfs() {}

    /**
     * The root (mode 755: with a 700 root every non-root guest user gets EACCES everywhere),
     * {@link #DIRS} and {@code moreDirs} (755, parents first), /tmp (1777), the console and null
     * devices, busybox as /bin/sh and {@code init} as /init.
     */
    public static void base(Cpio cpio, List<String> moreDirs, byte[] init) throws IOException {
        if (!Files.isExecutable(BUSYBOX)) {
            throw new IOException("/bin/busybox missing: install busybox-static (.ci/install-deps.sh does)");
        }
        cpio.dir(".", 0755);
        for (String d : DIRS) {
            cpio.dir(d, 0755);
        }
        for (String d : moreDirs) {
            cpio.dir(d, 0755);
        }
        cpio.dir("tmp", 01777);
        cpio.charDevice("dev/console", 0600, 5, 1);
        cpio.charDevice("dev/null", 0666, 1, 3);
        cpio.file("bin/busybox", 0755, BUSYBOX);
        cpio.symlink("bin/sh", "busybox");
        cpio.file("init", 0755, init);
    }

    /**
     * The kernel layout's modules as lib/modules/NAME.ko plus lib/modules/ORDER (the directory
     * lib/modules must be among {@link #base}'s dirs).
     */
    public static void modules(Cpio cpio, Path kernelDir) throws IOException {
        Path modules = kernelDir.resolve("modules");
        List<String> order = Files.readAllLines(modules.resolve("ORDER"));
        for (String m : order) {
            if (!m.isBlank()) {
                cpio.file("lib/modules/" + m.strip() + ".ko", 0644, modules.resolve(m.strip() + ".ko"));
            }
        }
        cpio.file(
                "lib/modules/ORDER", 0644, String.join("\n", order).concat("\n").getBytes(StandardCharsets.US_ASCII));
    }
}
