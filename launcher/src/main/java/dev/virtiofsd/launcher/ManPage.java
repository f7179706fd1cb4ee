package dev.virtiofsd.launcher;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.zip.GZIPOutputStream;

/**
 * virtiofsd-java(1), generated from {@link CommandLine#help()} so that the manual and --help never
 * disagree: the build runs {@code main(OUT.1.gz)} for the Debian package.
 */
public final class ManPage {
    private ManPage() {}

    /** Escapes text for troff: backslashes, and a leading dot or quote. */
    static String escape(String s) {
        String t = s.replace("\\", "\\e").replace("-", "\\-");
        if (t.startsWith(".") || t.startsWith("'")) {
            t = "\\&" + t;
        }
        return t;
    }

    /** The page in troff (man macros). */
    public static String troff(String version) {
        StringBuilder b = new StringBuilder();
        b.append(".TH VIRTIOFSD\\-JAVA 1 \"\" \"virtiofsd-java ")
                .append(escape(version))
                .append("\" \"User Commands\"\n");
        b.append(".SH NAME\nvirtiofsd\\-java \\- virtio\\-fs vhost\\-user device daemon, a drop\\-in for virtiofsd\n");
        b.append(
                ".SH SYNOPSIS\n.B virtiofsd\\-java\n\\-\\-shared\\-dir\n.I DIR\n\\-\\-socket\\-path\n.I SOCKET\n[OPTIONS]\n");
        b.append(".SH DESCRIPTION\n");
        b.append("Shares a host directory with a QEMU guest through a vhost\\-user\\-fs\\-pci device"
                + " (mount \\-t virtiofs TAG /mnt in the guest), passing every FUSE request through to the"
                + " host directory. Its command line is that of Rust virtiofsd 1.13, including the legacy"
                + " \\-o list that libvirt uses, so it can replace virtiofsd in libvirt (<binary path=...>),"
                + " Kata Containers and scripts.\n");
        b.append(".SH OPTIONS\n");
        String section = null;
        for (String line : CommandLine.help().split("\n", -1)) {
            if (line.startsWith("Usage:") || (line.startsWith("       ") && !line.startsWith("        "))) {
                continue;
            }
            if (!line.startsWith(" ") && line.endsWith(":")) {
                section = line.substring(0, line.length() - 1);
                b.append(".SS ").append(escape(section)).append('\n');
                continue;
            }
            if (line.startsWith("  -")) {
                String body = line.strip();
                int gap = body.indexOf("  ");
                String opt = gap < 0 ? body : body.substring(0, gap);
                String text = gap < 0 ? "" : body.substring(gap).strip();
                b.append(".TP\n.B ").append(escape(opt)).append('\n');
                if (!text.isEmpty()) {
                    b.append(escape(text)).append('\n');
                }
            } else if (!line.isBlank() && section != null) {
                b.append(escape(line.strip())).append('\n');
            }
        }
        b.append(".SH FILES\n.TP\n/usr/share/qemu/vhost\\-user/50\\-virtiofsd\\-java.json\n"
                + "vhost\\-user backend description for QEMU and libvirt\n"
                + ".TP\n/etc/virtiofsd\\-java/NAME.conf\nSHARED_DIR, SOCKET_PATH and VIRTIOFSD_ARGS of the systemd unit"
                + " virtiofsd\\-java@NAME.service\n");
        b.append(".SH SEE ALSO\n.BR virtiofsd (1),\n.BR qemu (1)\n");
        return b.toString();
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: ManPage OUT.1[.gz]");
            System.exit(2);
        }
        Path out = Paths.get(args[0]);
        if (out.getParent() != null) {
            Files.createDirectories(out.getParent());
        }
        java.util.Properties v = new java.util.Properties();
        try (java.io.InputStream in = ManPage.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                v.load(in);
            }
        }
        byte[] page = troff(v.getProperty("version", "unknown")).getBytes(StandardCharsets.UTF_8);
        try (OutputStream o = Files.newOutputStream(out)) {
            if (out.toString().endsWith(".gz")) {
                try (GZIPOutputStream gz = new GZIPOutputStream(o)) {
                    gz.write(page);
                }
            } else {
                o.write(page);
            }
        }
    }
}
