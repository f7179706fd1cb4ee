package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.api.fs.InitFlags.*;

/** Numbers and sizes from Linux {@code include/uapi/linux/fuse.h} (protocol 7.38). */
final class FuseProtocol {
    static final int KERNEL_VERSION = 7;
    /** Highest minor we speak; replies carry min(kernel's, this). */
    static final int MAX_MINOR = 38;
    /** Lowest minor we accept (the first with FUSE_WRITE_KILL_PRIV and map_alignment). */
    static final int MIN_MINOR = 31;
    /** Minor from which bytes 36..37 of fuse_in_header are total_extlen. */
    static final int EXTLEN_MINOR = 38;

    // opcodes
    static final int LOOKUP = 1;
    static final int FORGET = 2;
    static final int GETATTR = 3;
    static final int SETATTR = 4;
    static final int READLINK = 5;
    static final int SYMLINK = 6;
    static final int MKNOD = 8;
    static final int MKDIR = 9;
    static final int UNLINK = 10;
    static final int RMDIR = 11;
    static final int RENAME = 12;
    static final int LINK = 13;
    static final int OPEN = 14;
    static final int READ = 15;
    static final int WRITE = 16;
    static final int STATFS = 17;
    static final int RELEASE = 18;
    static final int FSYNC = 20;
    static final int SETXATTR = 21;
    static final int GETXATTR = 22;
    static final int LISTXATTR = 23;
    static final int REMOVEXATTR = 24;
    static final int FLUSH = 25;
    static final int INIT = 26;
    static final int OPENDIR = 27;
    static final int READDIR = 28;
    static final int RELEASEDIR = 29;
    static final int FSYNCDIR = 30;
    static final int GETLK = 31;
    static final int SETLK = 32;
    static final int SETLKW = 33;
    static final int ACCESS = 34;
    static final int CREATE = 35;
    static final int INTERRUPT = 36;
    static final int BMAP = 37;
    static final int DESTROY = 38;
    static final int IOCTL = 39;
    static final int POLL = 40;
    static final int NOTIFY_REPLY = 41;
    static final int BATCH_FORGET = 42;
    static final int FALLOCATE = 43;
    static final int READDIRPLUS = 44;
    static final int RENAME2 = 45;
    static final int LSEEK = 46;
    static final int COPY_FILE_RANGE = 47;
    static final int SETUPMAPPING = 48;
    static final int REMOVEMAPPING = 49;
    static final int SYNCFS = 50;
    static final int TMPFILE = 51;

    /** A handler's result for a request that takes no reply (FORGET, BATCH_FORGET, INTERRUPT, ...). */
    static final int NO_REPLY = Integer.MIN_VALUE;
    /** EPROTO: not in {@link dev.virtiofsd.api.Errno}. */
    static final int EPROTO = 71;

    /** Opcodes are counted in an array of this size; larger (unknown) ones land in slot 0. */
    static final int OPCODE_SLOTS = 64;

    // INIT flags: dev.virtiofsd.api.fs.InitFlags

    /**
     * Flags this dispatcher can honour; the filesystem narrows them further. Left out on purpose:
     * FILE_OPS/SPLICE_* (not used by the kernel client), MAP_ALIGNMENT/HAS_INODE_DAX (no DAX window),
     * CREATE_SUPP_GROUP (its extension is not decoded). INIT_EXT is set in the reply whenever a
     * granted flag lives in flags2. SECURITY_CTX contexts and SETXATTR_EXT flags reach the
     * filesystem through the RequestContext.
     */
    static final long SUPPORTED = ASYNC_READ
            | POSIX_LOCKS
            | ATOMIC_O_TRUNC
            | EXPORT_SUPPORT
            | BIG_WRITES
            | DONT_MASK
            | FLOCK_LOCKS
            | AUTO_INVAL_DATA
            | DO_READDIRPLUS
            | READDIRPLUS_AUTO
            | ASYNC_DIO
            | WRITEBACK_CACHE
            | PARALLEL_DIROPS
            | HANDLE_KILLPRIV
            | POSIX_ACL
            | ABORT_ERROR
            | MAX_PAGES
            | CACHE_SYMLINKS
            | EXPLICIT_INVAL_DATA
            | SUBMOUNTS
            | HANDLE_KILLPRIV_V2
            | SETXATTR_EXT
            | SECURITY_CTX
            | DIRECT_IO_ALLOW_MMAP;

    /** Flags about the transport and this engine, not the filesystem: sent whenever the kernel offers them. */
    static final long DISPATCHER_OWNED = MAX_PAGES | BIG_WRITES;

    static final int GETATTR_FH = 1;
    static final int RELEASE_FLOCK_UNLOCK = 1 << 1;
    static final int LK_FLOCK = 1;
    static final int WRITE_KILL_SUIDGID = 1 << 2;
    /** fuse_open_in/fuse_create_in open_flags: FUSE_OPEN_KILL_SUIDGID. */
    static final int OPEN_KILL_SUIDGID = 1;
    /** Largest nr_secctx / fuse_ext_header type of a security context (FUSE_MAX_NR_SECCTX). */
    static final int MAX_NR_SECCTX = 31;

    static final int FSYNC_FDATASYNC = 1;

    // struct sizes
    static final int IN_HEADER = 40;
    static final int OUT_HEADER = 16;
    static final int ATTR = 88;
    static final int ENTRY_OUT = 40 + ATTR;
    static final int ATTR_OUT = 16 + ATTR;
    static final int OPEN_OUT = 16;
    static final int INIT_IN_MIN = 16;
    static final int INIT_OUT = 64;
    static final int GETATTR_IN = 16;
    static final int SETATTR_IN = 88;
    static final int MKNOD_IN = 16;
    static final int MKDIR_IN = 8;
    static final int RENAME_IN = 8;
    static final int RENAME2_IN = 16;
    static final int LINK_IN = 8;
    static final int OPEN_IN = 8;
    static final int CREATE_IN = 16;
    static final int READ_IN = 40;
    static final int WRITE_IN = 40;
    static final int WRITE_OUT = 8;
    static final int RELEASE_IN = 24;
    static final int FLUSH_IN = 24;
    static final int FSYNC_IN = 16;
    static final int FORGET_IN = 8;
    static final int FORGET_ONE = 16;
    static final int BATCH_FORGET_IN = 8;
    static final int STATFS_OUT = 80;
    static final int SETXATTR_IN = 8;
    /** fuse_setxattr_in with SETXATTR_EXT: size, flags, setxattr_flags, padding. */
    static final int SETXATTR_IN_EXT = 16;

    static final int GETXATTR_IN = 8;
    static final int GETXATTR_OUT = 8;
    static final int LK_IN = 48;
    static final int LK_OUT = 24;
    static final int ACCESS_IN = 8;
    static final int INTERRUPT_IN = 8;
    static final int FALLOCATE_IN = 32;
    static final int LSEEK_IN = 24;
    static final int LSEEK_OUT = 8;
    static final int COPY_FILE_RANGE_IN = 56;
    static final int SYNCFS_IN = 8;
    static final int DIRENT = 24;

    /** NAME_MAX and XATTR_NAME_MAX. */
    static final int NAME_MAX = 255;
    /** PATH_MAX including the NUL. */
    static final int PATH_MAX = 4096;

    private static final String[] NAMES = new String[OPCODE_SLOTS];

    static {
        String[] n = {
            "",
            "LOOKUP",
            "FORGET",
            "GETATTR",
            "SETATTR",
            "READLINK",
            "SYMLINK",
            "7",
            "MKNOD",
            "MKDIR",
            "UNLINK",
            "RMDIR",
            "RENAME",
            "LINK",
            "OPEN",
            "READ",
            "WRITE",
            "STATFS",
            "RELEASE",
            "19",
            "FSYNC",
            "SETXATTR",
            "GETXATTR",
            "LISTXATTR",
            "REMOVEXATTR",
            "FLUSH",
            "INIT",
            "OPENDIR",
            "READDIR",
            "RELEASEDIR",
            "FSYNCDIR",
            "GETLK",
            "SETLK",
            "SETLKW",
            "ACCESS",
            "CREATE",
            "INTERRUPT",
            "BMAP",
            "DESTROY",
            "IOCTL",
            "POLL",
            "NOTIFY_REPLY",
            "BATCH_FORGET",
            "FALLOCATE",
            "READDIRPLUS",
            "RENAME2",
            "LSEEK",
            "COPY_FILE_RANGE",
            "SETUPMAPPING",
            "REMOVEMAPPING",
            "SYNCFS",
            "TMPFILE"
        };
        for (int i = 0; i < NAMES.length; i++) {
            NAMES[i] = i < n.length ? n[i] : Integer.toString(i);
        }
        NAMES[0] = "UNKNOWN";
    }

    private FuseProtocol() {}

    /** "LOOKUP" for 1; the number for opcodes without a name. */
    static String name(int opcode) {
        return opcode > 0 && opcode < OPCODE_SLOTS ? NAMES[opcode] : Integer.toString(opcode);
    }

    /** Requests the kernel expects no reply to. */
    static boolean noReply(int opcode) {
        return opcode == FORGET || opcode == BATCH_FORGET || opcode == INTERRUPT;
    }
}
