package dev.virtiofsd.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * Loading a bundle is running its code as the daemon's user (root, before the sandbox closes), so
 * a {@code --bundles} directory is checked as sshd's StrictModes checks authorized_keys: the
 * directory, every directory above it and every jar in it must belong to root or to the daemon's
 * own user and be writable by nobody else (no group or other write bit; a directory above may be
 * world-writable only with the sticky bit, like /tmp, since the entry below it is checked too).
 * Symbolic links are followed and their targets checked. ACLs are not looked at.
 */
final class BundleTrust {
    private static final int GROUP_OTHER_WRITE = 0022;
    private static final int STICKY = 01000;

    private BundleTrust() {}

    /** One line saying what is wrong with {@code dir}, or null if it may be loaded from. */
    static String check(Path dir, int euid) throws IOException {
        Path real = dir.toRealPath();
        String problem = writableByOthers(real, euid, false);
        if (problem != null) {
            return problem;
        }
        for (Path p = real.getParent(); p != null; p = p.getParent()) {
            problem = writableByOthers(p, euid, true);
            if (problem != null) {
                return problem;
            }
        }
        for (Path jar : jars(real)) {
            Path target = jar.toRealPath();
            if (!Files.isRegularFile(target)) {
                return target + " is not a regular file";
            }
            problem = writableByOthers(target, euid, false);
            if (problem == null && !target.getParent().equals(real)) {
                problem = check(target.getParent(), euid); // a link to a jar elsewhere: that place too
            }
            if (problem != null) {
                return problem;
            }
        }
        return null;
    }

    private static String writableByOthers(Path p, int euid, boolean parent) throws IOException {
        int uid = (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if (uid != 0 && uid != euid) {
            return p + " belongs to uid " + uid + " (only root or the daemon's user may own what it loads)";
        }
        if ((mode & GROUP_OTHER_WRITE) != 0 && !(parent && (mode & STICKY) != 0)) {
            return p + " is writable by " + ((mode & 0020) != 0 ? "its group" : "others") + " (mode "
                    + Integer.toOctalString(mode & 07777) + ")";
        }
        return null;
    }

    /** This process's effective uid (from /proc/self/status). */
    static int euid() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                return Integer.parseInt(line.substring(4).trim().split("\\s+", -1)[1]);
            }
        }
        throw new IOException("no Uid: line in /proc/self/status");
    }

    static List<Path> jars(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.jar")) {
            ds.forEach(out::add);
        }
        out.sort(null);
        return out;
    }

    /** "symbolic-name version sha256:HEX path" of a bundle jar, for the start-up log. */
    static String describe(Path jar) {
        String name = "?";
        String version = "?";
        try (JarFile jf = new JarFile(jar.toFile(), false)) {
            Manifest m = jf.getManifest();
            if (m != null) {
                Attributes a = m.getMainAttributes();
                String bsn = a.getValue("Bundle-SymbolicName");
                name = bsn == null ? "?" : bsn.split(";", -1)[0].trim();
                version = a.getValue("Bundle-Version") == null ? "0.0.0" : a.getValue("Bundle-Version");
            }
        } catch (IOException e) {
            name = "? (" + e.getMessage() + ")";
        }
        return name + " " + version + " sha256:" + sha256(jar) + " " + jar;
    }

    static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException | NoSuchAlgorithmException e) {
            return "? (" + e.getMessage() + ")";
        }
    }
}
