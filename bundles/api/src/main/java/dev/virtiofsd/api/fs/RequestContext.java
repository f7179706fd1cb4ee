package dev.virtiofsd.api.fs;

/** Who sent a FUSE request; one mutable instance per worker, refilled for every request. */
public final class RequestContext {
    /** {@link #setxattrFlags} bit SETXATTR_ACL_KILL_SGID: clear setgid when setting an access ACL. */
    public static final int SETXATTR_ACL_KILL_SGID = 1;

    /** FUSE unique id of the request. */
    public long unique;
    /** Caller's fsuid, fsgid and pid as seen by the kernel client. */
    public int uid;

    public int gid;
    public int pid;

    /**
     * OPEN/CREATE: the client set FUSE_OPEN_KILL_SUIDGID (the caller lacks CAP_FSETID, so a
     * truncating open must clear setuid/setgid; negotiated with FUSE_HANDLE_KILLPRIV_V2).
     */
    public boolean killSuidGid;

    /** SETXATTR with FUSE_SETXATTR_EXT: the {@code setxattr_flags} word, else 0. */
    public int setxattrFlags;

    /**
     * CREATE, MKDIR, MKNOD, SYMLINK, TMPFILE with FUSE_SECURITY_CTX: the security context the
     * client sent for the new inode: the native address of its NUL-terminated xattr name, the
     * address and size of its value. {@link #secctxSize} is -1 when none was sent.
     */
    public long secctxName;

    public long secctxValue;
    public int secctxSize = -1;

    public RequestContext set(long unique, int uid, int gid, int pid) {
        this.unique = unique;
        this.uid = uid;
        this.gid = gid;
        this.pid = pid;
        this.killSuidGid = false;
        this.setxattrFlags = 0;
        this.secctxName = 0;
        this.secctxValue = 0;
        this.secctxSize = -1;
        return this;
    }

    /** Whether a security context came with this request. */
    public boolean hasSecctx() {
        return secctxSize >= 0;
    }
}
