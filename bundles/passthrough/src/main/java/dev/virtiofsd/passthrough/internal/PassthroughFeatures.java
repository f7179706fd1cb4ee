package dev.virtiofsd.passthrough.internal;

/**
 * The virtiofsd feature switches of one passthrough filesystem beyond the basic options: FUSE
 * capabilities it negotiates and how it treats open flags, xattr names and ids. Kept apart from
 * {@link PassthroughOptions} so each feature has one place.
 *
 * @param posixAcl FUSE_POSIX_ACL (+DONT_MASK, SETXATTR_EXT): the guest kernel enforces ACLs, we store
 *     them and apply the caller's umask only where the parent has no default ACL
 * @param securityLabel FUSE_SECURITY_CTX: the label the guest sends with a creation is set on the new inode
 * @param writeback FUSE_WRITEBACK_CACHE: write-only opens become read-write, O_APPEND is the guest's
 * @param allowDirectIo O_DIRECT of guest opens reaches the host file
 * @param allowMmap FUSE_DIRECT_IO_ALLOW_MMAP (a guest kernel of 6.6 or newer offers it)
 * @param readdirplus offer READDIRPLUS
 * @param killprivV2 FUSE_HANDLE_KILLPRIV_V2: we clear setuid/setgid on writes, truncates and opens
 *     the guest marks
 * @param preserveNoatime keep O_NOATIME (else it is dropped, as virtiofsd)
 * @param posixLocks FUSE_POSIX_LOCKS: POSIX locks are taken on the host
 * @param flockLocks FUSE_FLOCK_LOCKS: flock locks are taken on the host
 * @param xattrMap xattr name rules, or null
 * @param uids uid translation between guest and host
 * @param gids gid translation between guest and host
 */
public record PassthroughFeatures(
        boolean posixAcl,
        boolean securityLabel,
        boolean writeback,
        boolean allowDirectIo,
        boolean allowMmap,
        boolean readdirplus,
        boolean killprivV2,
        boolean preserveNoatime,
        boolean posixLocks,
        boolean flockLocks,
        XattrMap xattrMap,
        IdMapper uids,
        IdMapper gids) {

    /** What the daemon did before these switches existed: readdirplus and host locks on, the rest off. */
    public static final PassthroughFeatures DEFAULTS = new PassthroughFeatures(
            false,
            false,
            false,
            false,
            false,
            true,
            false,
            false,
            true,
            true,
            null,
            IdMapper.IDENTITY,
            IdMapper.IDENTITY);

    public PassthroughFeatures {
        uids = uids == null ? IdMapper.IDENTITY : uids;
        gids = gids == null ? IdMapper.IDENTITY : gids;
    }

    public PassthroughFeatures withPosixAcl(boolean on) {
        return new PassthroughFeatures(
                on,
                securityLabel,
                writeback,
                allowDirectIo,
                allowMmap,
                readdirplus,
                killprivV2,
                preserveNoatime,
                posixLocks,
                flockLocks,
                xattrMap,
                uids,
                gids);
    }

    public PassthroughFeatures withSecurityLabel(boolean on) {
        return new PassthroughFeatures(
                posixAcl,
                on,
                writeback,
                allowDirectIo,
                allowMmap,
                readdirplus,
                killprivV2,
                preserveNoatime,
                posixLocks,
                flockLocks,
                xattrMap,
                uids,
                gids);
    }

    public PassthroughFeatures withWriteback(boolean on) {
        return new PassthroughFeatures(
                posixAcl,
                securityLabel,
                on,
                allowDirectIo,
                allowMmap,
                readdirplus,
                killprivV2,
                preserveNoatime,
                posixLocks,
                flockLocks,
                xattrMap,
                uids,
                gids);
    }

    public PassthroughFeatures withAllowDirectIo(boolean on) {
        return new PassthroughFeatures(
                posixAcl,
                securityLabel,
                writeback,
                on,
                allowMmap,
                readdirplus,
                killprivV2,
                preserveNoatime,
                posixLocks,
                flockLocks,
                xattrMap,
                uids,
                gids);
    }

    public PassthroughFeatures withKillprivV2(boolean on) {
        return new PassthroughFeatures(
                posixAcl,
                securityLabel,
                writeback,
                allowDirectIo,
                allowMmap,
                readdirplus,
                on,
                preserveNoatime,
                posixLocks,
                flockLocks,
                xattrMap,
                uids,
                gids);
    }

    public PassthroughFeatures withPreserveNoatime(boolean on) {
        return new PassthroughFeatures(
                posixAcl,
                securityLabel,
                writeback,
                allowDirectIo,
                allowMmap,
                readdirplus,
                killprivV2,
                on,
                posixLocks,
                flockLocks,
                xattrMap,
                uids,
                gids);
    }

    public PassthroughFeatures withXattrMap(XattrMap map) {
        return new PassthroughFeatures(
                posixAcl,
                securityLabel,
                writeback,
                allowDirectIo,
                allowMmap,
                readdirplus,
                killprivV2,
                preserveNoatime,
                posixLocks,
                flockLocks,
                map,
                uids,
                gids);
    }

    public PassthroughFeatures withIds(IdMapper uidMap, IdMapper gidMap) {
        return new PassthroughFeatures(
                posixAcl,
                securityLabel,
                writeback,
                allowDirectIo,
                allowMmap,
                readdirplus,
                killprivV2,
                preserveNoatime,
                posixLocks,
                flockLocks,
                xattrMap,
                uidMap,
                gidMap);
    }

    static PassthroughFeatures fromConfig(PassthroughConfig c) {
        String[] rules = c.xattrmap();
        return new PassthroughFeatures(
                c.posix_acl(),
                c.security_label(),
                c.writeback(),
                c.allow_direct_io(),
                c.allow_mmap(),
                c.readdirplus(),
                c.killpriv_v2(),
                c.preserve_noatime(),
                c.posix_locks(),
                c.flock_locks(),
                rules == null || rules.length == 0 ? null : XattrMap.fromRules(rules),
                IdMapper.parse(c.translate_uid()),
                IdMapper.parse(c.translate_gid()));
    }
}
