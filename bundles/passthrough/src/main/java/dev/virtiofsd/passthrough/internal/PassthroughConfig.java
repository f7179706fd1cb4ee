package dev.virtiofsd.passthrough.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Configuration of PID {@code dev.virtiofsd.passthrough}, written by the launcher. */
@ObjectClassDefinition(name = "virtiofsd passthrough filesystem")
public @interface PassthroughConfig {
    @AttributeDefinition(name = "shared.dir", description = "Host directory to share")
    String shared_dir();

    @AttributeDefinition(description = "auto | always | never | metadata")
    String cache() default "auto";

    boolean xattr() default false;

    boolean readonly() default false;

    @AttributeDefinition(name = "announce.submounts")
    boolean announce_submounts() default false;

    @AttributeDefinition(name = "posix.acl", description = "FUSE_POSIX_ACL: the guest enforces ACLs we store")
    boolean posix_acl() default false;

    @AttributeDefinition(name = "security.label", description = "FUSE_SECURITY_CTX: store the guest's label")
    boolean security_label() default false;

    @AttributeDefinition(description = "FUSE_WRITEBACK_CACHE")
    boolean writeback() default false;

    @AttributeDefinition(name = "allow.direct.io", description = "keep O_DIRECT of guest opens")
    boolean allow_direct_io() default false;

    @AttributeDefinition(name = "allow.mmap", description = "FUSE_DIRECT_IO_ALLOW_MMAP")
    boolean allow_mmap() default false;

    @AttributeDefinition(description = "offer READDIRPLUS")
    boolean readdirplus() default true;

    @AttributeDefinition(name = "killpriv.v2", description = "FUSE_HANDLE_KILLPRIV_V2")
    boolean killpriv_v2() default false;

    @AttributeDefinition(name = "preserve.noatime", description = "keep O_NOATIME of guest opens")
    boolean preserve_noatime() default false;

    @AttributeDefinition(name = "posix.locks", description = "FUSE_POSIX_LOCKS: POSIX locks on the host")
    boolean posix_locks() default true;

    @AttributeDefinition(name = "flock.locks", description = "FUSE_FLOCK_LOCKS: flock locks on the host")
    boolean flock_locks() default true;

    @AttributeDefinition(description = "xattr name rules: type NUL scope NUL key NUL prepend, in order")
    String[] xattrmap() default {};

    @AttributeDefinition(name = "translate.uid", description = "uid translations, TYPE:A:B[:C]")
    String[] translate_uid() default {};

    @AttributeDefinition(name = "translate.gid", description = "gid translations, TYPE:A:B[:C]")
    String[] translate_gid() default {};

    @AttributeDefinition(
            description = "inode.identity name of the strategy new inodes get (fd, handle-preferred, handle-only, or a"
                    + " third-party one); may change while the share is mounted")
    String strategy();
}
