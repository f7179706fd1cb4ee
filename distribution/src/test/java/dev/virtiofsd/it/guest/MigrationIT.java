package dev.virtiofsd.it.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Live migration of a guest with the share mounted, with QEMU 10 from the trixie root
 * (scripts/qemu10), between two of our daemons on this host (guest/workload-migrate.sh): the open
 * file keeps its content and takes more writes through fds opened before the migration, the tree
 * still reads, and the host's checksums match the guest's. Under find-paths and file-handles, from
 * an fd-only source to a handle-only destination, and with host-side rename/delete giving the
 * documented error policy (docs/migration.md).
 */
class MigrationIT {
    static final List<String> CHECKS =
            List.of("mount", "prepare", "wait-migrated", "writer-continued", "second-fd", "tree-reads", "umount");

    static MigrationRun.Daemon ours(String strategy, String... extra) {
        return (shared, socket) -> {
            List<String> a =
                    new ArrayList<>(DaemonCommand.ours(GuestEnvironment.ourLauncher(), shared, socket, strategy, false)
                            .argv());
            a.add("--cache=never");
            a.addAll(List.of(extra));
            return a;
        };
    }

    /** Everything the guest checked passed, and the host sees what the guest wrote. */
    static void assertGuestAndHostAgree(MigrationRun run) throws Exception {
        GuestResult r = run.result;
        String where = "\n" + r.describe() + "\ndaemon A:\n" + GuestResult.tail(run.daemonALog, 15) + "\ndaemon B:\n"
                + GuestResult.tail(run.daemonBLog, 15) + "\nqemu B:\n" + GuestResult.tail(run.qemuBLog, 10);
        assertEquals(List.of(), r.failures(), where);
        assertEquals(CHECKS, r.checkNames(), where);
        Path shared = run.shared;
        assertEquals(md5(shared.resolve("mig/log")), r.values.get("log-md5"), where);
        assertEquals(md5(shared.resolve("mig/tree/a/big")), r.values.get("big-md5"), where);
        long lines = Files.readAllLines(shared.resolve("mig/log")).size();
        assertEquals(Long.toString(lines), r.values.get("log-lines"), where);
        assertEquals("before\nafter\n", Files.readString(shared.resolve("mig/second")), where);
        assertEquals("new\n", Files.readString(shared.resolve("mig/tree/a/b/c/new-after")), where);
        assertEquals("read:kept-content", r.values.get("victim-kept"), where);
    }

    static String md5(Path p) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(Files.readAllBytes(p)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Inodes in the state the source sent (its log line), at least {@code min}: the looked-up tree went along. */
    private static void assertStateInodes(MigrationRun run, int min) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                        "migration state: (\\d+) inodes \\((\\d+) with a path, (\\d+) with a file handle, 0 lost")
                .matcher(run.daemonALog);
        assertTrue(m.find(), run.daemonALog);
        assertTrue(Integer.parseInt(m.group(1)) >= min, m.group());
    }

    private static void assertMigrated(MigrationRun run) {
        assertEquals("completed", run.migrationStatus, run.migrationError + "\n" + run.daemonALog);
        assertEquals(Integer.valueOf(0), run.daemonAExit, "daemon A exits 0 once QEMU A quits");
        assertEquals(Integer.valueOf(0), run.daemonBExit, "daemon B exits 0 once QEMU B powers off");
        assertTrue(run.daemonBLog.contains("migrated state loaded"), run.daemonBLog);
    }

    @Test
    void findPathsFdToFd() throws Exception {
        MigrationRun run = MigrationRun.prepare("migrate-find-paths");
        run.execute(ours("never", "--cache=auto"), ours("never", "--cache=auto"));
        assertMigrated(run);
        assertStateInodes(run, 45);
        assertGuestAndHostAgree(run);
        assertEquals("read:renamed-content", run.result.values.get("victim-renamed"));
        assertEquals("read:deleted-content", run.result.values.get("victim-deleted"));
    }

    @Test
    void fileHandlesHandleOnlyToHandleOnly() throws Exception {
        MigrationRun run = MigrationRun.prepare("migrate-file-handles");
        run.execute(
                ours("mandatory", "--cache=auto", "--migration-mode=file-handles"),
                ours("mandatory", "--cache=auto", "--migration-mode=file-handles", "--migration-verify-handles"));
        assertMigrated(run);
        assertStateInodes(run, 45);
        assertGuestAndHostAgree(run);
    }

    @Test
    void fdOnlySourceToHandleOnlyDestination() throws Exception {
        MigrationRun run = MigrationRun.prepare("migrate-fd-to-handle");
        run.execute(ours("never"), ours("mandatory"));
        assertMigrated(run);
        assertGuestAndHostAgree(run);
        assertTrue(run.daemonBLog.contains("from a fd source"), run.daemonBLog);
    }

    /**
     * A directory the guest holds (a process's cwd, no open fd) is deleted on the host while the VM
     * runs on a handle-only source, which then cannot open it any more: the destination aborts (default
     * --migration-on-error abort), QEMU reports the migration failed, and the guest goes on,
     * unharmed, on the source.
     */
    @Test
    void lostInodeAbortsAndTheSourceResumes() throws Exception {
        MigrationRun run = MigrationRun.prepare("migrate-abort");
        run.beforeMigrate(shared -> Files.delete(shared.resolve("mig/victim/gone-dir")));
        run.execute(ours("mandatory"), ours("never"));
        assertEquals("failed", run.migrationStatus, run.daemonBLog);
        assertTrue(run.daemonBLog.contains("the source could not find it any more"), run.daemonBLog);
        assertTrue(run.daemonBLog.contains("--migration-on-error abort"), run.daemonBLog);
        assertTrue(run.qemuBLog.contains("Failed to load vhost-user-fs-backend"), run.qemuBLog);
        assertEquals(Integer.valueOf(0), run.daemonAExit);
        assertGuestAndHostAgree(run);
        assertEquals("read:deleted-content", run.result.values.get("victim-deleted"));
        assertEquals("read:renamed-content", run.result.values.get("victim-renamed"));
    }

    /**
     * Migration into a file, then host-side rename and delete, then the destination loads it with
     * --migration-on-error guest-error: the renamed and the deleted file answer errors (never another
     * file), everything else goes on.
     */
    @Test
    void renameAndDeleteBetweenSourceAndDestinationGiveGuestErrors() throws Exception {
        MigrationRun run = MigrationRun.prepare("migrate-guest-error").offline();
        run.betweenSourceAndDestination(shared -> {
            Files.move(shared.resolve("mig/victim/renamed"), shared.resolve("mig/victim/renamed.moved"));
            Files.delete(shared.resolve("mig/victim/deleted"));
            // a new file under the old name: it must not be taken for the renamed one
            Files.writeString(shared.resolve("mig/victim/renamed"), "impostor\n");
        });
        run.execute(ours("never"), ours("never", "--migration-on-error=guest-error"));
        assertMigrated(run);
        assertGuestAndHostAgree(run);
        assertTrue(run.result.values.get("victim-renamed").startsWith("error:"), run.result.values.toString());
        assertTrue(run.result.values.get("victim-deleted").startsWith("error:"), run.result.values.toString());
        assertTrue(run.daemonBLog.contains("--migration-on-error guest-error"), run.daemonBLog);
        assertTrue(run.daemonBLog.contains("found another file"), run.daemonBLog);
    }

    /** The same as an abort: the destination refuses the state and QEMU B fails the incoming migration. */
    @Test
    void renameBetweenSourceAndDestinationAborts() throws Exception {
        MigrationRun run = MigrationRun.prepare("migrate-rename-abort").offline();
        run.betweenSourceAndDestination(
                shared -> Files.move(shared.resolve("mig/victim/renamed"), shared.resolve("mig/victim/renamed.moved")));
        run.execute(ours("never"), ours("never"));
        assertTrue(run.daemonBLog.contains("'mig/victim/renamed': cannot open it by path: ENOENT"), run.daemonBLog);
        assertTrue(run.daemonBLog.contains("--migration-on-error abort"), run.daemonBLog);
        assertTrue(run.qemuBLog.contains("Failed to load vhost-user-fs-backend"), run.qemuBLog);
    }

    static MigrationRun.Daemon peer() {
        return (shared, socket) -> {
            try {
                return DaemonCommand.peer(GuestEnvironment.peerBinary(), shared, socket, "never", false)
                        .argv();
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException("Rust virtiofsd (peer) not installed: " + e.getMessage(), e);
            }
        };
    }

    /**
     * Rust virtiofsd 1.13 as the source, ours as the destination: its state is its own serde
     * (postcard) encoding, which we do not read (docs/migration.md says why). The destination says
     * so in one line, the migration fails, and the guest goes on, unharmed, on the peer.
     */
    @Test
    void peerStateIsRefusedCleanlyAndThePeerResumes() throws Exception {
        MigrationRun run = MigrationRun.prepare("migrate-peer-to-ours");
        run.execute(peer(), ours("never"));
        assertEquals("failed", run.migrationStatus, run.daemonBLog);
        assertTrue(run.daemonBLog.contains("not a virtiofsd-java device state"), run.daemonBLog);
        assertGuestAndHostAgree(run);
    }

    /** Ours as the source, the peer as the destination: the peer refuses our format, ours resumes. */
    @Test
    void oursToPeerIsRefusedCleanlyAndOursResumes() throws Exception {
        MigrationRun run = MigrationRun.prepare("migrate-ours-to-peer");
        run.execute(ours("never"), peer());
        assertEquals("failed", run.migrationStatus, run.daemonBLog);
        assertTrue(run.qemuBLog.contains("Failed to load vhost-user-fs-backend"), run.qemuBLog);
        assertEquals(Integer.valueOf(0), run.daemonAExit);
        assertGuestAndHostAgree(run);
    }
}
