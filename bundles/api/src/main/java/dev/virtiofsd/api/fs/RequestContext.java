package dev.virtiofsd.api.fs;

/** Who sent a FUSE request; one mutable instance per worker, refilled for every request. */
public final class RequestContext {
    /** FUSE unique id of the request. */
    public long unique;
    /** Caller's fsuid, fsgid and pid as seen by the kernel client. */
    public int uid;

    public int gid;
    public int pid;

    public RequestContext set(long unique, int uid, int gid, int pid) {
        this.unique = unique;
        this.uid = uid;
        this.gid = gid;
        this.pid = pid;
        return this;
    }
}
