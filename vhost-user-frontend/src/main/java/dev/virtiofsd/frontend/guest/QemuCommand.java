package dev.virtiofsd.frontend.guest;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of a QEMU guest for virtio-fs as this project runs it: TCG (no KVM on the test
 * machines), shared memfd guest RAM (vhost-user needs the back end to map it), no default devices
 * or display, direct kernel boot, the serial console into a file, and one {@code vhost-user-fs-pci}
 * device per daemon socket.
 */
public final class QemuCommand {
    private final List<String> args = new ArrayList<>();

    private QemuCommand(String binary, int memoryMib) {
        args.addAll(List.of(
                binary,
                "-accel",
                "tcg",
                "-m",
                Integer.toString(memoryMib),
                "-nodefaults",
                "-no-user-config",
                "-display",
                "none",
                "-object",
                "memory-backend-memfd,id=mem,size=" + memoryMib + "M,share=on",
                "-numa",
                "node,memdev=mem"));
    }

    /** qemu-system-x86_64 with {@code memoryMib} MiB of shared guest RAM. */
    public static QemuCommand x86(int memoryMib) {
        return new QemuCommand("qemu-system-x86_64", memoryMib);
    }

    /**
     * A {@code vhost-user-fs-pci} device (queue size 1024) with mount tag {@code tag} on the daemon
     * socket {@code socket}, through chardev {@code chardevId}; more than one request queue only
     * when {@code requestQueues} is above 1.
     */
    public QemuCommand virtiofs(String chardevId, Path socket, String tag, int requestQueues) {
        args.addAll(List.of(
                "-chardev",
                "socket,id=" + chardevId + ",path=" + socket,
                "-device",
                "vhost-user-fs-pci,queue-size=1024,chardev=" + chardevId + ",tag=" + tag
                        + (requestQueues > 1 ? ",num-request-queues=" + requestQueues : "")));
        return this;
    }

    /** Direct boot of {@code kernelDir}/vmlinuz with {@code initramfs} and this kernel command line. */
    public QemuCommand boot(Path kernelDir, Path initramfs, String kernelArgs) {
        args.addAll(List.of(
                "-kernel",
                kernelDir.resolve("vmlinuz").toString(),
                "-initrd",
                initramfs.toString(),
                "-append",
                kernelArgs));
        return this;
    }

    /** The guest's serial console (ttyS0) into {@code file}. */
    public QemuCommand console(Path file) {
        args.addAll(List.of("-serial", "file:" + file));
        return this;
    }

    /** A guest reboot ends QEMU (with panic=-1, a guest panic too). */
    public QemuCommand noReboot() {
        args.add("-no-reboot");
        return this;
    }

    /** The command line, binary first. */
    public List<String> argv() {
        return List.copyOf(args);
    }
}
