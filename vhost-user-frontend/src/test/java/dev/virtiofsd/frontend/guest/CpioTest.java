package dev.virtiofsd.frontend.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The initramfs format the guest tests and the guest benchmark boot from. */
class CpioTest {
    @Test
    void cpioArchiveHasNewcHeadersPaddingAndTrailer(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("a.cpio");
        try (Cpio c = new Cpio(file)) {
            c.dir(".", 0755);
            c.file("init", 0755, "#!/bin/sh\n".getBytes(StandardCharsets.US_ASCII));
            c.symlink("bin/sh", "busybox");
            c.charDevice("dev/console", 0600, 5, 1);
        }
        byte[] b = Files.readAllBytes(file);
        assertEquals(0, b.length % 4);
        String s = new String(b, StandardCharsets.ISO_8859_1);
        // first entry: ".", directory mode 040755, owned by root
        assertEquals("070701", s.substring(0, 6));
        assertEquals(String.format("%08x", 040755), s.substring(14, 22));
        assertEquals("00000000", s.substring(22, 30));
        assertEquals(".\0", s.substring(110, 112));
        int init = s.indexOf("init\0");
        int header = init - 110;
        assertEquals(0, header % 4, "headers start 4-byte aligned");
        assertEquals(String.format("%08x", 0100755), s.substring(header + 14, header + 22));
        assertEquals(String.format("%08x", 10), s.substring(header + 54, header + 62));
        int console = s.indexOf("dev/console\0") - 110;
        assertEquals(String.format("%08x", 5), s.substring(console + 78, console + 86));
        assertEquals(String.format("%08x", 1), s.substring(console + 86, console + 94));
        assertEquals(true, s.contains("TRAILER!!!\0"));
    }
}
