package dev.virtiofsd.passthrough.internal;

import static dev.virtiofsd.api.config.PassthroughConfiguration.ALLOW_DIRECT_IO_DEFAULT;
import static dev.virtiofsd.api.config.PassthroughConfiguration.ALLOW_MMAP_DEFAULT;
import static dev.virtiofsd.api.config.PassthroughConfiguration.ANNOUNCE_SUBMOUNTS_DEFAULT;
import static dev.virtiofsd.api.config.PassthroughConfiguration.CACHE_DEFAULT;
import static dev.virtiofsd.api.config.PassthroughConfiguration.FLOCK_LOCKS_DEFAULT;
import static dev.virtiofsd.api.config.PassthroughConfiguration.KILLPRIV_V2_DEFAULT;
import static dev.virtiofsd.api.config.PassthroughConfiguration.MIGRATION_CONFIRM_PATHS_DEFAULT;
import static dev.virtiofsd.api.config.PassthroughConfiguration.MIGRATION_MODE_DEFAULT;
import static dev.virtiofsd.api.config.PassthroughConfiguration.MIGRATION_ON_ERROR_DEFAULT;
import static dev.virtiofsd.api.config.PassthroughConfiguration.MIGRATION_VERIFY_HANDLES_DEFAULT;
import static dev.virtiofsd.api.config.PassthroughConfiguration.POSIX_ACL_DEFAULT;
import static dev.virtiofsd.api.config.PassthroughConfiguration.POSIX_LOCKS_DEFAULT;
import static dev.virtiofsd.api.config.PassthroughConfiguration.PRESERVE_NOATIME_DEFAULT;
import static dev.virtiofsd.api.config.PassthroughConfiguration.READDIRPLUS_DEFAULT;
import static dev.virtiofsd.api.config.PassthroughConfiguration.READONLY_DEFAULT;
import static dev.virtiofsd.api.config.PassthroughConfiguration.SECURITY_LABEL_DEFAULT;
import static dev.virtiofsd.api.config.PassthroughConfiguration.WRITEBACK_DEFAULT;
import static dev.virtiofsd.api.config.PassthroughConfiguration.XATTR_DEFAULT;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Configuration of PID {@link dev.virtiofsd.api.config.PassthroughConfiguration#PID}, written by the
 * launcher (or a profile). bnd turns it into the bundle's metatype; each method name is a key of
 * {@link dev.virtiofsd.api.config.PassthroughConfiguration} ({@code _} stands for {@code .}) and each
 * default is that class's constant, which the command line's default is too.
 */
@ObjectClassDefinition(
        name = "virtiofsd passthrough filesystem",
        description = "The host directory the guest mounts, and virtiofsd's switches for it.")
public @interface PassthroughConfig {
    @AttributeDefinition(name = "Shared directory", description = "Host directory to share (--shared-dir)")
    String shared_dir();

    @AttributeDefinition(
            name = "Cache",
            description = "Guest caching policy (--cache): auto, always, never or metadata")
    String cache() default CACHE_DEFAULT;

    @AttributeDefinition(name = "Extended attributes", description = "Pass extended attributes through (--xattr)")
    boolean xattr() default XATTR_DEFAULT;

    @AttributeDefinition(name = "Read-only", description = "Refuse every modification (--readonly)")
    boolean readonly() default READONLY_DEFAULT;

    @AttributeDefinition(
            name = "Announce submounts",
            description = "Tell the guest which directories are mount points (--announce-submounts, virtiofsd's"
                    + " default; --no-announce-submounts turns it off)")
    boolean announce_submounts() default ANNOUNCE_SUBMOUNTS_DEFAULT;

    @AttributeDefinition(
            name = "POSIX ACLs",
            description = "FUSE_POSIX_ACL: the guest kernel enforces ACLs, the daemon stores them (--posix-acl)")
    boolean posix_acl() default POSIX_ACL_DEFAULT;

    @AttributeDefinition(
            name = "Security label",
            description = "FUSE_SECURITY_CTX: the security context the guest sends with a creation is set on the new"
                    + " inode (--security-label)")
    boolean security_label() default SECURITY_LABEL_DEFAULT;

    @AttributeDefinition(
            name = "Writeback cache",
            description = "FUSE_WRITEBACK_CACHE: the guest caches writes (--writeback)")
    boolean writeback() default WRITEBACK_DEFAULT;

    @AttributeDefinition(
            name = "Allow direct I/O",
            description = "Keep the guest's O_DIRECT on the host file (--allow-direct-io)")
    boolean allow_direct_io() default ALLOW_DIRECT_IO_DEFAULT;

    @AttributeDefinition(
            name = "Allow mmap",
            description = "FUSE_DIRECT_IO_ALLOW_MMAP: shared mmap with cache never/metadata (--allow-mmap)")
    boolean allow_mmap() default ALLOW_MMAP_DEFAULT;

    @AttributeDefinition(
            name = "READDIRPLUS",
            description = "Offer READDIRPLUS (off with --no-readdirplus and with --cache=never)")
    boolean readdirplus() default READDIRPLUS_DEFAULT;

    @AttributeDefinition(
            name = "KILLPRIV_V2",
            description = "FUSE_HANDLE_KILLPRIV_V2: the daemon clears setuid/setgid on the writes, truncates and"
                    + " opens the guest marks (--killpriv-v2)")
    boolean killpriv_v2() default KILLPRIV_V2_DEFAULT;

    @AttributeDefinition(
            name = "Preserve O_NOATIME",
            description = "Keep the guest's O_NOATIME on opens (--preserve-noatime)")
    boolean preserve_noatime() default PRESERVE_NOATIME_DEFAULT;

    @AttributeDefinition(
            name = "POSIX locks",
            description = "FUSE_POSIX_LOCKS: POSIX locks are taken on the host (-o posix_lock/no_posix_lock)")
    boolean posix_locks() default POSIX_LOCKS_DEFAULT;

    @AttributeDefinition(
            name = "flock locks",
            description = "FUSE_FLOCK_LOCKS: flock locks are taken on the host (-o flock/no_flock)")
    boolean flock_locks() default FLOCK_LOCKS_DEFAULT;

    @AttributeDefinition(
            name = "xattr map",
            description = "xattr name rules (--xattrmap), each as type NUL scope NUL key NUL prepend, in order;"
                    + " none by default")
    String[] xattrmap() default {};

    @AttributeDefinition(
            name = "uid translation",
            description = "uid translations between guest and host (--translate-uid), TYPE:A:B[:C]; none by default")
    String[] translate_uid() default {};

    @AttributeDefinition(
            name = "gid translation",
            description = "gid translations between guest and host (--translate-gid), TYPE:A:B[:C]; none by default")
    String[] translate_gid() default {};

    @AttributeDefinition(
            name = "Strategy",
            description = "inode.identity name of the strategy new inodes get (fd, handle-preferred, handle-only, or a"
                    + " third-party one; --strategy, --inode-file-handles); may change while the share is mounted")
    String strategy();

    @AttributeDefinition(
            name = "Migration mode",
            description = "How the migration destination finds inodes again: find-paths or file-handles"
                    + " (--migration-mode)")
    String migration_mode() default MIGRATION_MODE_DEFAULT;

    @AttributeDefinition(
            name = "Migration on error",
            description = "What the destination does with an inode it cannot find again: abort or guest-error"
                    + " (--migration-on-error)")
    String migration_on_error() default MIGRATION_ON_ERROR_DEFAULT;

    @AttributeDefinition(
            name = "Migration: verify handles",
            description = "The destination compares every inode's file handle with the source's"
                    + " (--migration-verify-handles)")
    boolean migration_verify_handles() default MIGRATION_VERIFY_HANDLES_DEFAULT;

    @AttributeDefinition(
            name = "Migration: confirm paths",
            description =
                    "Accepted for virtiofsd compatibility; paths are always confirmed (--migration-confirm-paths)")
    boolean migration_confirm_paths() default MIGRATION_CONFIRM_PATHS_DEFAULT;
}
