package dev.virtiofsd.frontend.guest;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes a "newc" cpio archive, the format the Linux kernel unpacks as an initramfs (the guest
 * tests' and the guest benchmark's).
 * Written here rather than with the cpio tool so that modes, owners and device nodes
 * (/dev/console) are exactly what the guest needs, whatever the host staging dir looks like.
 */
public final class Cpio implements Closeable {
    private static final int S_IFDIR = 0040000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFLNK = 0120000;
    private static final int S_IFCHR = 0020000;

    private final OutputStream out;
    private long written;
    private int nextIno = 1;

    public Cpio(Path file) throws IOException {
        this.out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
    }

    public void dir(String name, int perm) throws IOException {
        entry(name, S_IFDIR | perm, 2, 0, 0, new byte[0]);
    }

    public void file(String name, int perm, byte[] content) throws IOException {
        entry(name, S_IFREG | perm, 1, 0, 0, content);
    }

    public void file(String name, int perm, Path source) throws IOException {
        file(name, perm, Files.readAllBytes(source));
    }

    public void symlink(String name, String target) throws IOException {
        entry(name, S_IFLNK | 0777, 1, 0, 0, target.getBytes(StandardCharsets.UTF_8));
    }

    public void charDevice(String name, int perm, int major, int minor) throws IOException {
        entry(name, S_IFCHR | perm, 1, major, minor, new byte[0]);
    }

    private void entry(String name, int mode, int nlink, int rdevMajor, int rdevMinor, byte[] data) throws IOException {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        StringBuilder h = new StringBuilder(110);
        h.append("070701");
        hex(h, nextIno++); // c_ino
        hex(h, mode); // c_mode
        hex(h, 0); // c_uid: root
        hex(h, 0); // c_gid
        hex(h, nlink); // c_nlink
        hex(h, 0); // c_mtime
        hex(h, data.length); // c_filesize
        hex(h, 0); // c_devmajor
        hex(h, 0); // c_devminor
        hex(h, rdevMajor); // c_rdevmajor
        hex(h, rdevMinor); // c_rdevminor
        hex(h, nameBytes.length + 1); // c_namesize incl. NUL
        hex(h, 0); // c_check
        write(h.toString().getBytes(StandardCharsets.US_ASCII));
        write(nameBytes);
        write(new byte[] {0});
        pad();
        write(data);
        pad();
    }

    private static void hex(StringBuilder h, long v) {
        String s = Long.toHexString(v & 0xffffffffL);
        for (int i = s.length(); i < 8; i++) h.append('0');
        h.append(s);
    }

    private void write(byte[] b) throws IOException {
        out.write(b);
        written += b.length;
    }

    private void pad() throws IOException {
        while ((written & 3) != 0) {
            out.write(0);
            written++;
        }
    }

    @Override
    public void close() throws IOException {
        entry("TRAILER!!!", 0, 1, 0, 0, new byte[0]);
        out.close();
    }
}
