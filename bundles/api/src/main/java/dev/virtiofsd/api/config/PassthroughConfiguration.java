package dev.virtiofsd.api.config;

/**
 * Configuration PID {@value #PID}: the passthrough filesystem (bundle {@code dev.virtiofsd.passthrough}).
 * Defaults are Rust virtiofsd 1.13's where it has the switch.
 */
public final class PassthroughConfiguration {
    public static final String PID = "dev.virtiofsd.passthrough";

    /** Host directory to share; required, no default. */
    public static final String SHARED_DIR = "shared.dir";

    /** Caching policy: auto, always, never, metadata. */
    public static final String CACHE = "cache";

    public static final String CACHE_DEFAULT = "auto";

    /** Extended attributes. */
    public static final String XATTR = "xattr";

    public static final boolean XATTR_DEFAULT = false;

    /** Refuse every modification. */
    public static final String READONLY = "readonly";

    public static final boolean READONLY_DEFAULT = false;

    /** Tell the guest which directories are mount points (virtiofsd 1.13: on unless --no-announce-submounts). */
    public static final String ANNOUNCE_SUBMOUNTS = "announce.submounts";

    public static final boolean ANNOUNCE_SUBMOUNTS_DEFAULT = true;

    /** FUSE_POSIX_ACL. */
    public static final String POSIX_ACL = "posix.acl";

    public static final boolean POSIX_ACL_DEFAULT = false;

    /** FUSE_SECURITY_CTX. */
    public static final String SECURITY_LABEL = "security.label";

    public static final boolean SECURITY_LABEL_DEFAULT = false;

    /** FUSE_WRITEBACK_CACHE. */
    public static final String WRITEBACK = "writeback";

    public static final boolean WRITEBACK_DEFAULT = false;

    /** Keep O_DIRECT of guest opens. */
    public static final String ALLOW_DIRECT_IO = "allow.direct.io";

    public static final boolean ALLOW_DIRECT_IO_DEFAULT = false;

    /** FUSE_DIRECT_IO_ALLOW_MMAP. */
    public static final String ALLOW_MMAP = "allow.mmap";

    public static final boolean ALLOW_MMAP_DEFAULT = false;

    /** Offer READDIRPLUS (the launcher writes false for --no-readdirplus and for --cache=never). */
    public static final String READDIRPLUS = "readdirplus";

    public static final boolean READDIRPLUS_DEFAULT = true;

    /** FUSE_HANDLE_KILLPRIV_V2. */
    public static final String KILLPRIV_V2 = "killpriv.v2";

    public static final boolean KILLPRIV_V2_DEFAULT = false;

    /** Keep O_NOATIME of guest opens. */
    public static final String PRESERVE_NOATIME = "preserve.noatime";

    public static final boolean PRESERVE_NOATIME_DEFAULT = false;

    /** FUSE_POSIX_LOCKS: POSIX locks taken on the host. */
    public static final String POSIX_LOCKS = "posix.locks";

    public static final boolean POSIX_LOCKS_DEFAULT = true;

    /** FUSE_FLOCK_LOCKS: flock locks taken on the host. */
    public static final String FLOCK_LOCKS = "flock.locks";

    public static final boolean FLOCK_LOCKS_DEFAULT = true;

    /** xattr name rules (--xattrmap, encoded by the launcher); none by default. */
    public static final String XATTRMAP = "xattrmap";

    /** uid translations (--translate-uid); none by default. */
    public static final String TRANSLATE_UID = "translate.uid";

    /** gid translations (--translate-gid); none by default. */
    public static final String TRANSLATE_GID = "translate.gid";

    /**
     * The {@code inode.identity} name of the strategy new inodes get; the component has no default of
     * its own for it (without the key it falls back to a {@code strategy.target} filter, then to
     * {@value #STRATEGY_DEFAULT}).
     */
    public static final String STRATEGY = "strategy";

    public static final String STRATEGY_DEFAULT = "fd";

    /** --migration-mode: find-paths or file-handles. */
    public static final String MIGRATION_MODE = "migration.mode";

    public static final String MIGRATION_MODE_DEFAULT = "find-paths";

    /** --migration-on-error: abort or guest-error. */
    public static final String MIGRATION_ON_ERROR = "migration.on.error";

    public static final String MIGRATION_ON_ERROR_DEFAULT = "abort";

    /** --migration-verify-handles. */
    public static final String MIGRATION_VERIFY_HANDLES = "migration.verify.handles";

    public static final boolean MIGRATION_VERIFY_HANDLES_DEFAULT = false;

    /** --migration-confirm-paths. */
    public static final String MIGRATION_CONFIRM_PATHS = "migration.confirm.paths";

    public static final boolean MIGRATION_CONFIRM_PATHS_DEFAULT = false;

    private PassthroughConfiguration() {}
}
