package dev.virtiofsd.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * A real tree through the mount: {@code cp -a} of the host's C headers (/usr/include: ~8000 files, 130 MB, symlinks,
 * nested directories) into the mount, {@code diff -r} against the original, {@code ls -lR} through
 * the mount against the same listing on the host, and the unmount on close().
 */
class EndToEndCopyTest {
    private static final Path SOURCE = Path.of("/usr/include");

    @Test
    void copyDiffListAndUnmount() throws Exception {
        assertTrue(Files.isDirectory(SOURCE), SOURCE + " (linux-libc-dev) is needed");
        Path mnt;
        Path shared;
        try (Twins t = Twins.mount(o -> o.xattr(true))) {
            mnt = t.mnt;
            shared = t.shared;
            Shell.Result cp = Shell.run(
                    120, "cp", "-a", SOURCE.toString(), mnt.resolve("copy").toString());
            assertEquals(0, cp.status(), "cp -a: " + cp.output());

            Shell.Result diff = Shell.run(
                    120,
                    "diff",
                    "-r",
                    "--no-dereference",
                    SOURCE.toString(),
                    mnt.resolve("copy").toString());
            assertEquals(0, diff.status(), "diff -r through the mount: " + diff.output());
            Shell.Result diffHost = Shell.run(
                    120,
                    "diff",
                    "-r",
                    "--no-dereference",
                    SOURCE.toString(),
                    shared.resolve("copy").toString());
            assertEquals(0, diffHost.status(), "diff -r on the host side: " + diffHost.output());

            // ls -lR with numeric ids and full times: sizes, modes, links, owners, mtimes, link targets
            String lsCmd = "cd \"$1\" && ls -lRn --time-style=full-iso copy";
            Shell.Result lsMount = Shell.sh(120, lsCmd, mnt.toString());
            Shell.Result lsHost = Shell.sh(120, lsCmd, shared.toString());
            assertEquals(0, lsMount.status(), lsMount.output());
            assertEquals(lsHost.output(), lsMount.output(), "ls -lR through the mount equals the host's");
            assertTrue(lsMount.output().lines().count() > 500, "a real tree was listed");

            Shell.Result count =
                    Shell.sh(60, "find \"$1\" | wc -l", mnt.resolve("copy").toString());
            Shell.Result countSrc = Shell.sh(60, "find \"$1\" | wc -l", SOURCE.toString());
            assertEquals(countSrc.output(), count.output(), "same number of entries");

            Shell.Result rm = Shell.run(120, "rm", "-rf", mnt.resolve("copy").toString());
            assertEquals(0, rm.status(), "rm -rf through the mount: " + rm.output());
            assertFalse(Files.exists(shared.resolve("copy")), "removed on the host");
        }
        String mounts = Files.readString(Path.of("/proc/self/mountinfo"));
        assertFalse(mounts.contains(" " + mnt + " "), "unmounted by close()");
    }
}
