package dev.virtiofsd.it.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.it.guest.GuestEnvironment;
import dev.virtiofsd.it.guest.GuestImage;
import dev.virtiofsd.it.guest.GuestResult;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Debian's libvirt 9.0 starts our daemon from {@code <binary path>} with its own command line
 * ({@code --fd=N -o source=DIR,...} plus {@code --thread-pool-size}), and a TCG guest (direct kernel
 * boot, memfd shared memory) mounts the share and reads, writes, unmounts through it. libvirt's
 * log shows the command line it ran; the daemon's own log says it served.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LibvirtIT {
    private Libvirt libvirt;
    private Path dir;
    private Path kernel;
    private Path initrd;

    @BeforeAll
    void setUp() throws Exception {
        libvirt = Libvirt.ensureRunning();
        // QEMU runs as libvirt's qemu user: a world-readable copy of the kernel and initramfs
        dir = Files.createTempDirectory(Paths.get("/tmp"), "vfsj-libvirt-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        kernel = Files.copy(GuestEnvironment.kernelDir().resolve("vmlinuz"), dir.resolve("vmlinuz"));
        initrd = Files.copy(GuestImage.initramfs(), dir.resolve("initrd"), StandardCopyOption.REPLACE_EXISTING);
        for (Path p : new Path[] {kernel, initrd}) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r--r--"));
        }
    }

    @AfterAll
    void tearDown() throws Exception {
        if (libvirt != null) {
            libvirt.close();
        }
        if (dir != null) {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder())
                        .forEach(p -> p.toFile().delete());
            }
        }
    }

    static String xml(
            String name,
            Path binary,
            Path shared,
            Path kernel,
            Path initrd,
            Path console,
            String binaryElements,
            String binaryAttributes) {
        return "<domain type='qemu'>\n"
                + "  <name>" + name + "</name>\n"
                + "  <memory unit='MiB'>1024</memory>\n"
                + "  <vcpu>1</vcpu>\n"
                + "  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>\n"
                + "  <os>\n"
                + "    <type arch='x86_64' machine='pc'>hvm</type>\n"
                + "    <kernel>" + kernel + "</kernel>\n"
                + "    <initrd>" + initrd + "</initrd>\n"
                + "    <cmdline>console=ttyS0 quiet panic=-1 vfstest.workload=smoke</cmdline>\n"
                + "  </os>\n"
                + "  <features><acpi/></features>\n"
                + "  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>\n"
                + "  <devices>\n"
                + "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
                + "    <filesystem type='mount' accessmode='passthrough'>\n"
                + "      <driver type='virtiofs' queue='1024'/>\n"
                + "      <binary path='" + binary + "'"
                + (binaryAttributes.isBlank() ? "" : " " + binaryAttributes.strip())
                + ">" + binaryElements + "</binary>\n"
                + "      <source dir='" + shared + "'/>\n"
                + "      <target dir='myfs'/>\n"
                + "    </filesystem>\n"
                + "    <serial type='file'><source path='" + console + "'/><target port='0'/></serial>\n"
                + "    <memballoon model='none'/>\n"
                + "  </devices>\n"
                + "</domain>\n";
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "plain||",
                "cache-threadpool-xattr-locks|<cache mode='none'/><lock posix='on' flock='on'/><thread_pool size='2'/>|xattr='on'",
                "cache-always|<cache mode='always'/>|",
            })
    void libvirtStartsOurDaemonAndTheGuestMountsThroughIt(String name, String elements, String attributes)
            throws Exception {
        String domain = "vfsj-it-" + name + "-" + ProcessHandle.current().pid();
        Path run = Files.createDirectories(dir.resolve(name));
        Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path shared = Files.createDirectories(run.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(shared.resolve("from-host"), "host\n");
        Path console = run.resolve("console.log");
        Path binary = GuestEnvironment.ourLauncher().toAbsolutePath();
        Path xml = Files.writeString(
                run.resolve("domain.xml"),
                xml(
                        domain,
                        binary,
                        shared,
                        kernel,
                        initrd,
                        console,
                        elements == null ? "" : elements,
                        attributes == null ? "" : attributes));
        Path qemuLog = Paths.get("/var/log/libvirt/qemu/" + domain + ".log");
        Path fsLog = Paths.get("/var/log/libvirt/qemu/" + domain + "-fs0-virtiofsd.log");
        long t0 = System.nanoTime();
        try {
            Libvirt.run(180, "virsh", "-c", Libvirt.URI, "create", xml.toString());
            // on_poweroff=destroy: the transient domain disappears when the guest's workload ends
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(GuestEnvironment.timeoutSeconds());
            while (Libvirt.run(20, "virsh", "-c", Libvirt.URI, "list", "--name")
                    .lines()
                    .anyMatch(domain::equals)) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("guest still running after " + GuestEnvironment.timeoutSeconds() + " s; "
                            + "console:\n" + read(console));
                }
                Thread.sleep(500);
            }
        } finally {
            try {
                Libvirt.run(30, "virsh", "-c", Libvirt.URI, "destroy", domain);
            } catch (java.io.IOException e) {
                // gone already
            }
        }
        String libvirtLog = read(qemuLog);
        String daemonLog = read(fsLog);
        GuestResult r =
                new GuestResult(read(console), daemonLog, 0, 0, null, 0, (System.nanoTime() - t0) / 1_000_000, 0);
        String report =
                r.describe() + "\nlibvirt's log " + qemuLog + ":\n" + libvirtLog + "\ndaemon log:\n" + daemonLog;
        System.out.println(report);
        // libvirt started our binary with its own command line
        String cmd = libvirtLog
                .lines()
                .filter(l -> l.contains(binary.toString()))
                .reduce((a, b) -> b)
                .orElseThrow(
                        () -> new AssertionError("no command line of " + binary + " in " + qemuLog + "\n" + report));
        assertTrue(cmd.contains("--fd=") && cmd.contains("-o source=" + shared), cmd);
        if (elements != null && elements.contains("thread_pool")) {
            assertTrue(
                    cmd.contains("--thread-pool-size=2")
                            && cmd.contains("cache=none")
                            && cmd.contains(",xattr")
                            && cmd.contains(",flock")
                            && cmd.contains(",posix_lock"),
                    cmd);
        }
        assertTrue(daemonLog.contains("serving " + shared), "daemon log:\n" + daemonLog);
        assertEquals(List.of(), r.failures(), report);
        assertEquals(List.of("mount", "read-host", "write", "umount"), r.checkNames(), report);
        assertEquals(1, r.ends, report);
        assertEquals("guest\n", Files.readString(shared.resolve("from-guest")));
        assertEquals(1 << 20, Files.size(shared.resolve("gdir/blob")));
    }

    static String read(Path p) {
        try {
            return Files.exists(p) ? new String(Files.readAllBytes(p), StandardCharsets.UTF_8) : "";
        } catch (java.io.IOException e) {
            return "<" + e + ">";
        }
    }
}
