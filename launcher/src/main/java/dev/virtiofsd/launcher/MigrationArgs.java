package dev.virtiofsd.launcher;

import java.util.Map;
import java.util.Set;

/**
 * virtiofsd's {@code --migration-*} options (live migration of a mounted share, see
 * docs/migration.md), kept apart from the rest of the command line. They become keys of the
 * passthrough filesystem's configuration.
 */
public final class MigrationArgs {
    static final Set<String> MODES = Set.of("find-paths", "file-handles");
    static final Set<String> ON_ERROR = Set.of("abort", "guest-error");

    public String mode = "find-paths";
    public String onError = "abort";
    public boolean verifyHandles;
    public boolean confirmPaths;

    /** The passthrough configuration keys (read by MigrationOptions in the passthrough bundle). */
    void addTo(Map<String, Object> passthrough) {
        passthrough.put("migration.mode", mode);
        passthrough.put("migration.on.error", onError);
        passthrough.put("migration.verify.handles", verifyHandles);
        passthrough.put("migration.confirm.paths", confirmPaths);
    }

    static String help(String option) {
        switch (option) {
            case "--migration-mode":
                return "How to find inodes again on the migration destination: find-paths (by path, confirmed on the"
                        + " source) or file-handles [default: find-paths]";
            case "--migration-on-error":
                return "When the destination cannot find an inode again, or finds another file: abort the migration,"
                        + " or guest-error (that inode answers EIO) [default: abort]";
            case "--migration-verify-handles":
                return "Require the destination to compare every inode's file handle with the source's";
            default:
                return "Confirm paths before sending them (always done by " + CommandLine.PROGRAM + ")";
        }
    }
}
