package dev.virtiofsd.linux.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every number of {@link SyscallTable} against the kernel's uapi headers (Debian's linux-libc-dev,
 * which .ci/install-deps.sh installs): x86_64 from asm/unistd_64.h, aarch64 from the generic
 * table asm-generic/unistd.h it uses.
 */
class SyscallTableTest {
    static final Path X86_64 = Path.of("/usr/include/x86_64-linux-gnu/asm/unistd_64.h");
    static final Path GENERIC = Path.of("/usr/include/asm-generic/unistd.h");
    static final Pattern DEFINE = Pattern.compile("#define __NR(3264)?_(\\w+)\\s+(\\w+)");

    static Map<String, Integer> numbers(Path header) throws IOException {
        assertTrue(Files.isReadable(header), header + " missing: install linux-libc-dev (.ci/install-deps.sh does)");
        Map<String, String> raw = new HashMap<>();
        Matcher m = DEFINE.matcher(Files.readString(header));
        while (m.find()) {
            raw.put((m.group(1) == null ? "" : "3264_") + m.group(2), m.group(3));
        }
        Map<String, Integer> out = new HashMap<>();
        for (Map.Entry<String, String> e : raw.entrySet()) {
            String v = e.getValue();
            if (v.startsWith("__NR3264_")) {
                v = raw.get("3264_" + v.substring("__NR3264_".length()));
            }
            if (v != null && v.matches("\\d+")) {
                out.put(e.getKey(), Integer.parseInt(v));
            }
        }
        return out;
    }

    @Test
    void x86_64NumbersAreTheKernels() throws IOException {
        Map<String, Integer> kernel = numbers(X86_64);
        for (String name : SyscallTable.names()) {
            assertEquals(kernel.getOrDefault(name, -1), SyscallTable.number(Arch.X86_64, name), name);
        }
    }

    @Test
    void aarch64NumbersAreTheGenericTables() throws IOException {
        Map<String, Integer> kernel = numbers(GENERIC);
        // 64-bit generic ABIs have no stat/lstat (fstatat only), nor the calls without *at.
        kernel.remove("stat");
        kernel.remove("lstat");
        for (String name : SyscallTable.names()) {
            assertEquals(kernel.getOrDefault(name, -1), SyscallTable.number(Arch.AARCH64, name), name);
        }
    }
}
