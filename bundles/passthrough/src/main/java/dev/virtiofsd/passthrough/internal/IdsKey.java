package dev.virtiofsd.passthrough.internal;

/**
 * The ids of a host inode: inode number, device and mount id ({@code st_dev} alone does not name a
 * mount). Keys in the store never change; a per-thread probe key is refilled with {@link #set} for
 * lookups, so that finding an inode that is already known allocates nothing.
 */
final class IdsKey {
    long ino;
    long dev;
    long mntId;

    IdsKey(long ino, long dev, long mntId) {
        this.ino = ino;
        this.dev = dev;
        this.mntId = mntId;
    }

    /** Refills a probe key (never one stored in a map). */
    IdsKey set(long ino, long dev, long mntId) {
        this.ino = ino;
        this.dev = dev;
        this.mntId = mntId;
        return this;
    }

    IdsKey copy() {
        return new IdsKey(ino, dev, mntId);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof IdsKey k)) {
            return false;
        }
        return ino == k.ino && dev == k.dev && mntId == k.mntId;
    }

    @Override
    public int hashCode() {
        long h = ino * 0x9E3779B97F4A7C15L + dev;
        h = h * 0x9E3779B97F4A7C15L + mntId;
        h ^= h >>> 32;
        h *= 0xff51afd7ed558ccdL;
        return (int) (h ^ (h >>> 29));
    }

    @Override
    public String toString() {
        return "(ino=" + ino + ", dev=" + dev + ", mnt=" + mntId + ")";
    }
}
