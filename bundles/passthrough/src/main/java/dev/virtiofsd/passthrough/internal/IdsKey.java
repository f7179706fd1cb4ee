package dev.virtiofsd.passthrough.internal;

/** The ids of a host inode: inode number, device and mount id ({@code st_dev} alone does not name a mount). */
final class IdsKey {
    final long ino;
    final long dev;
    final long mntId;

    IdsKey(long ino, long dev, long mntId) {
        this.ino = ino;
        this.dev = dev;
        this.mntId = mntId;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof IdsKey)) {
            return false;
        }
        IdsKey k = (IdsKey) o;
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
