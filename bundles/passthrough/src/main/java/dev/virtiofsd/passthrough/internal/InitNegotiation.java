package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.fs.InitFlags;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * FUSE INIT on the filesystem's side: the flags the share's options want, granted as far as the
 * guest kernel offers them, and what the session got (writeback cache, POSIX ACLs), which other
 * operations consult. DESTROY resets it.
 */
final class InitNegotiation {
    /** Named after the filesystem: what an operator greps for did not move. */
    private static final Logger LOG = LoggerFactory.getLogger(PassthroughFileSystem.class);

    private final PassthroughFeatures features;
    private final boolean announceSubmounts;
    private volatile boolean writeback;
    private volatile boolean acl;

    InitNegotiation(PassthroughFeatures features, boolean announceSubmounts) {
        this.features = features;
        this.announceSubmounts = announceSubmounts;
    }

    /** INIT: the flags this share wants, as far as the kernel offers them ({@code kernelFlags}). */
    long negotiate(long kernelFlags) {
        long want = InitFlags.ASYNC_READ
                | InitFlags.ATOMIC_O_TRUNC
                | InitFlags.BIG_WRITES
                | InitFlags.PARALLEL_DIROPS
                | InitFlags.MAX_PAGES
                | InitFlags.CACHE_SYMLINKS
                | InitFlags.EXPORT_SUPPORT;
        PassthroughFeatures f = features;
        if (f.posixLocks()) {
            want |= InitFlags.POSIX_LOCKS;
        }
        if (f.flockLocks()) {
            want |= InitFlags.FLOCK_LOCKS;
        }
        if (f.readdirplus()) {
            want |= InitFlags.DO_READDIRPLUS | InitFlags.READDIRPLUS_AUTO;
        }
        if (announceSubmounts) {
            want |= InitFlags.SUBMOUNTS;
        }
        if (f.writeback()) {
            want |= InitFlags.WRITEBACK_CACHE;
        }
        if (f.killprivV2()) {
            want |= InitFlags.HANDLE_KILLPRIV_V2;
            if ((kernelFlags & InitFlags.HANDLE_KILLPRIV_V2) == 0) {
                LOG.warn("Cannot enable KILLPRIV_V2, client does not support it");
            }
        }
        if (f.posixAcl()) {
            long acl = InitFlags.POSIX_ACL | InitFlags.DONT_MASK | InitFlags.SETXATTR_EXT;
            if ((kernelFlags & acl) == acl) {
                want |= acl;
            } else {
                LOG.error(
                        "Cannot enable posix ACLs, client does not support it (kernel flags 0x{})",
                        Long.toHexString(kernelFlags));
            }
        }
        if (f.securityLabel()) {
            want |= InitFlags.SECURITY_CTX;
            if ((kernelFlags & InitFlags.SECURITY_CTX) == 0) {
                LOG.error("Cannot enable security label: the kernel does not support InitFlags.SECURITY_CTX");
            }
        }
        if (f.allowMmap()) {
            want |= InitFlags.DIRECT_IO_ALLOW_MMAP;
        }
        long granted = want & kernelFlags;
        writeback = (granted & InitFlags.WRITEBACK_CACHE) != 0;
        acl = (granted & InitFlags.POSIX_ACL) != 0;
        return granted;
    }

    /** The writeback cache is on for this session: the guest kernel owns offsets and read-modify-write. */
    boolean writeback() {
        return writeback;
    }

    /** POSIX ACLs are on for this session. */
    boolean acl() {
        return acl;
    }

    /** DESTROY: nothing negotiated until the next INIT. */
    void reset() {
        writeback = false;
        acl = false;
    }
}
