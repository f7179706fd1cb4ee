package dev.virtiofsd.passthrough.internal;

import java.util.Locale;

/**
 * virtiofsd's {@code --migration-*} options, read from the passthrough configuration's {@code
 * migration.*} keys ({@link PassthroughConfig}; the launcher writes them). See docs/migration.md.
 */
public final class MigrationOptions {
    /** How the source tells the destination where each inode is. */
    public enum Mode {
        /** By its path relative to the shared directory, confirmed before it is sent. */
        FIND_PATHS,
        /** By file handle (the destination opens it with open_by_handle_at); paths as a fallback. */
        FILE_HANDLES
    }

    /** What the destination does with an inode it cannot find again, or finds to be another file. */
    public enum OnError {
        /** Fail the migration: the source resumes the guest. */
        ABORT,
        /** Keep the inode; every operation on it answers EIO. */
        GUEST_ERROR
    }

    public static final MigrationOptions DEFAULTS = new MigrationOptions(Mode.FIND_PATHS, OnError.ABORT, false, false);

    public final Mode mode;
    public final OnError onError;
    /** The destination must be able to compare each inode's file handle with the source's. */
    public final boolean verifyHandles;
    /** Accepted for virtiofsd compatibility; paths are always confirmed here (docs/migration.md). */
    public final boolean confirmPaths;

    public MigrationOptions(Mode mode, OnError onError, boolean verifyHandles, boolean confirmPaths) {
        this.mode = mode;
        this.onError = onError;
        this.verifyHandles = verifyHandles;
        this.confirmPaths = confirmPaths;
    }

    /** The options of the passthrough configuration's {@code migration.*} keys. */
    static MigrationOptions from(PassthroughConfig c) {
        return new MigrationOptions(
                parseMode(normal(c.migration_mode())),
                parseOnError(normal(c.migration_on_error())),
                c.migration_verify_handles(),
                c.migration_confirm_paths());
    }

    private static String normal(String s) {
        return s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
    }

    public static Mode parseMode(String s) {
        switch (s) {
            case "find-paths":
                return Mode.FIND_PATHS;
            case "file-handles":
                return Mode.FILE_HANDLES;
            default:
                throw new IllegalArgumentException("migration.mode must be find-paths or file-handles: " + s);
        }
    }

    public static OnError parseOnError(String s) {
        switch (s) {
            case "abort":
                return OnError.ABORT;
            case "guest-error":
                return OnError.GUEST_ERROR;
            default:
                throw new IllegalArgumentException("migration.on.error must be abort or guest-error: " + s);
        }
    }

    @Override
    public String toString() {
        return "MigrationOptions[" + mode + ", on error " + onError + (verifyHandles ? ", verify handles" : "")
                + (confirmPaths ? ", confirm paths" : "") + "]";
    }
}
