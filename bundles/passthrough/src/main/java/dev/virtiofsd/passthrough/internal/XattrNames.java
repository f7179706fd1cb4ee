package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Xattr names between guest and host, as virtiofsd: the {@code --xattrmap} rules (if any), and
 * without negotiated POSIX ACLs the two ACL names are refused (ENOTSUP) and hidden from listings,
 * so that a guest cannot store ACLs the host kernel would then enforce. When the map renames
 * {@code security.capability}, the kernel no longer drops it on write, truncate and chown, so
 * {@link #dropMappedCapability} does.
 */
final class XattrNames {
    private static final byte[] ACL_ACCESS = "system.posix_acl_access".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ACL_DEFAULT = "system.posix_acl_default".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CAPABILITY = "security.capability".getBytes(StandardCharsets.US_ASCII);
    /** XATTR_LIST_MAX: the longest list listxattr returns. */
    static final int LIST_MAX = 65536;
    /** Room for one mapped name (XATTR_NAME_MAX plus a prepend). */
    private static final int NAME_ROOM = 4096;

    private final XattrMap map;
    /** The host name of security.capability when the map renames it (native, NUL-terminated), else 0. */
    private final long mappedCapability;

    private static final class Scratch {
        final long name = NativeMemory.allocate(NAME_ROOM);
        final long list = NativeMemory.allocate(LIST_MAX);
        final byte[] bytes = new byte[LIST_MAX];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    XattrNames(XattrMap map) {
        this.map = map;
        long cap = 0;
        if (map != null) {
            try {
                byte[] host = map.mapClient(CAPABILITY);
                if (!Arrays.equals(host, CAPABILITY)) {
                    cap = NativeMemory.allocate(host.length + 1);
                    NativeMemory.putBytes(cap, host, 0, host.length);
                    NativeMemory.putByte(cap + host.length, (byte) 0);
                }
            } catch (ErrnoException e) {
                // the guest cannot reach it under any name: nothing to keep in step
            }
        }
        this.mappedCapability = cap;
    }

    private static byte[] read(long name) {
        int n = NativeMemory.strnlen(name, NAME_ROOM);
        byte[] b = new byte[Math.max(n, 0)];
        NativeMemory.getBytes(name, b, 0, b.length);
        return b;
    }

    private static boolean isAcl(byte[] name, int off, int len) {
        return Arrays.equals(name, off, off + len, ACL_ACCESS, 0, ACL_ACCESS.length)
                || Arrays.equals(name, off, off + len, ACL_DEFAULT, 0, ACL_DEFAULT.length);
    }

    /** Whether listings must be rewritten (a map, or ACL names to hide). */
    boolean rewritesLists(boolean acl) {
        return map != null || !acl;
    }

    /**
     * The host name for the guest's name at {@code name} (native, NUL-terminated): the same address
     * when nothing changes, else this thread's scratch (valid until the next call on the thread).
     */
    long client(long name, boolean acl) throws ErrnoException {
        if (map == null && acl) {
            return name;
        }
        byte[] b = read(name);
        if (!acl && isAcl(b, 0, b.length)) {
            throw ErrnoException.of(Errno.EOPNOTSUPP);
        }
        if (map == null) {
            return name;
        }
        byte[] host = map.mapClient(b);
        if (host == b) {
            return name;
        }
        if (host.length >= NAME_ROOM) {
            throw ErrnoException.of(Errno.ERANGE);
        }
        long out = SCRATCH.get().name;
        NativeMemory.putBytes(out, host, 0, host.length);
        NativeMemory.putByte(out + host.length, (byte) 0);
        return out;
    }

    /** Whether names are rewritten at all. */
    boolean mapsNames() {
        return map != null;
    }

    /** A native buffer of {@link #LIST_MAX} bytes for the host's list (this thread's). */
    long listBuffer() {
        return SCRATCH.get().list;
    }

    /**
     * Rewrites the host list in this thread's list buffer ({@code len} bytes) into {@code dst}
     * ({@code capacity} bytes; 0 asks for the size only). Returns the guest list's length; ERANGE
     * when it does not fit.
     */
    int clientList(int len, boolean acl, long dst, int capacity) throws ErrnoException {
        Scratch s = SCRATCH.get();
        NativeMemory.getBytes(s.list, s.bytes, 0, len);
        List<byte[]> names;
        if (map != null) {
            names = map.mapServerList(s.bytes, len);
        } else {
            names = new java.util.ArrayList<>();
            int start = 0;
            for (int i = 0; i < len; i++) {
                if (s.bytes[i] == 0) {
                    if (i > start) {
                        names.add(Arrays.copyOfRange(s.bytes, start, i));
                    }
                    start = i + 1;
                }
            }
        }
        int total = 0;
        for (byte[] n : names) {
            if (!acl && isAcl(n, 0, n.length)) {
                continue;
            }
            total += n.length + 1;
        }
        if (capacity == 0) {
            return total;
        }
        if (total > capacity) {
            throw ErrnoException.of(Errno.ERANGE);
        }
        long p = dst;
        for (byte[] n : names) {
            if (!acl && isAcl(n, 0, n.length)) {
                continue;
            }
            NativeMemory.putBytes(p, n, 0, n.length);
            NativeMemory.putByte(p + n.length, (byte) 0);
            p += n.length + 1;
        }
        return total;
    }

    /** The renamed security.capability goes on write/truncate/chown, as the kernel would drop the real one. */
    void dropMappedCapability(long path) {
        if (mappedCapability == 0) {
            return;
        }
        try {
            Linux.pathRemovexattr(path, mappedCapability);
        } catch (ErrnoException e) {
            // ENODATA/ENOTSUP: none there; anything else: the operation itself will tell
        }
    }

    void dropMappedCapabilityFd(int fd) {
        if (mappedCapability == 0) {
            return;
        }
        try {
            Linux.fremovexattr(fd, mappedCapability);
        } catch (ErrnoException e) {
            // as above
        }
    }
}
