package dev.virtiofsd.launcher;

import dev.virtiofsd.api.config.PassthroughConfiguration;
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

    public String mode = PassthroughConfiguration.MIGRATION_MODE_DEFAULT;
    public String onError = PassthroughConfiguration.MIGRATION_ON_ERROR_DEFAULT;
    public boolean verifyHandles = PassthroughConfiguration.MIGRATION_VERIFY_HANDLES_DEFAULT;
    public boolean confirmPaths = PassthroughConfiguration.MIGRATION_CONFIRM_PATHS_DEFAULT;

    /** The passthrough configuration keys (the passthrough bundle reads them into its MigrationOptions). */
    void addTo(Map<String, Object> passthrough) {
        passthrough.put(PassthroughConfiguration.MIGRATION_MODE, mode);
        passthrough.put(PassthroughConfiguration.MIGRATION_ON_ERROR, onError);
        passthrough.put(PassthroughConfiguration.MIGRATION_VERIFY_HANDLES, verifyHandles);
        passthrough.put(PassthroughConfiguration.MIGRATION_CONFIRM_PATHS, confirmPaths);
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
