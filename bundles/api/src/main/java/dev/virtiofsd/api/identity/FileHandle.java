package dev.virtiofsd.api.identity;

import java.util.Arrays;

/**
 * A host file handle ({@code struct file_handle} from {@code name_to_handle_at}) plus the mount it
 * belongs to. Unlike an inode number, a handle carries the inode's generation, so it tells a new
 * file apart from an unlinked one whose inode number was reused. Immutable; usable as a map key.
 */
public final class FileHandle {
    private final long mountId;
    private final int type;
    private final byte[] bytes;
    private final int hash;

    public FileHandle(long mountId, int type, byte[] bytes) {
        this.mountId = mountId;
        this.type = type;
        this.bytes = bytes.clone();
        this.hash = spread(mountId, type, this.bytes);
    }

    /**
     * Hash over every byte, the handle type and the mount id, finished with a 64-bit mixer so
     * that handles differing only in the generation word land in different buckets. (The file-handle
     * patch for C virtiofsd first hashed with {@code hash += hash * 33 + c}, a slip for {@code =}
     * that piles such handles into few buckets: exactly what this must not do.)
     */
    static int spread(long mountId, int type, byte[] bytes) {
        // FNV-1a (64 bit) per byte: every step is a bijection of the running state, so handles that
        // differ in one word cannot collide before the mixer. (A "h * 31 + byte" step loses bits:
        // bytes reach 255 > 31, and handles differing only in their generation then collided.)
        long h = 0xcbf29ce484222325L ^ (mountId * 0x9E3779B97F4A7C15L);
        h = (h ^ type) * 0x100000001b3L;
        for (byte b : bytes) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return (int) h;
    }

    public long mountId() {
        return mountId;
    }

    public int type() {
        return type;
    }

    /** A copy of the opaque handle bytes ({@code f_handle}). */
    public byte[] bytes() {
        return bytes.clone();
    }

    public int length() {
        return bytes.length;
    }

    /** Copies the handle bytes to {@code dst} without allocating. */
    public void copyTo(byte[] dst, int offset) {
        System.arraycopy(bytes, 0, dst, offset, bytes.length);
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof FileHandle other)) {
            return false;
        }
        return hash == other.hash
                && mountId == other.mountId
                && type == other.type
                && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("FileHandle[mnt=")
                .append(mountId)
                .append(", type=")
                .append(type)
                .append(", ");
        for (byte b : bytes) {
            sb.append(String.format("%02x", b & 0xff));
        }
        return sb.append(']').toString();
    }
}
