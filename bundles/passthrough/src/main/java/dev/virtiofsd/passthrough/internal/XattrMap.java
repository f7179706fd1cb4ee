package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * virtiofsd's xattr name mapping (doc/xattr-mapping.md), after the command line's {@code map}
 * expansion: an ordered rule list, the first matching rule applies. A client name (get, set,
 * remove) matches a rule whose scope includes the client and whose key is a prefix of it:
 * {@code prefix} prepends {@code prepend}, {@code ok} passes it, {@code bad} denies it (EPERM),
 * {@code unsupported} denies it (ENOTSUP). A host name in a listxattr reply matches a rule whose
 * scope includes the server and whose {@code prepend} is a prefix of it: {@code prefix} strips
 * {@code prepend}, {@code ok} passes it, {@code bad} and {@code unsupported} hide it. A name no rule
 * matches is denied (EPERM) and hidden: virtiofsd requires a terminating rule and stops on such a
 * name.
 */
public final class XattrMap {
    static final int PREFIX = 0;
    static final int OK = 1;
    static final int BAD = 2;
    static final int UNSUPPORTED = 3;

    private static final int CLIENT = 1;
    private static final int SERVER = 2;

    private final int[] type;
    private final int[] scope;
    private final byte[][] key;
    private final byte[][] prepend;

    private XattrMap(int[] type, int[] scope, byte[][] key, byte[][] prepend) {
        this.type = type;
        this.scope = scope;
        this.key = key;
        this.prepend = prepend;
    }

    /** From the configuration form: {@code type NUL scope NUL key NUL prepend} per rule. */
    public static XattrMap fromRules(String[] rules) {
        int n = rules.length;
        int[] t = new int[n];
        int[] s = new int[n];
        byte[][] k = new byte[n][];
        byte[][] p = new byte[n][];
        for (int i = 0; i < n; i++) {
            String[] f = rules[i].split("\0", -1);
            if (f.length != 4) {
                throw new IllegalArgumentException("xattrmap rule " + (i + 1) + ": expected 4 fields, got " + f.length);
            }
            switch (f[0]) {
                case "prefix":
                    t[i] = PREFIX;
                    break;
                case "ok":
                    t[i] = OK;
                    break;
                case "bad":
                    t[i] = BAD;
                    break;
                case "unsupported":
                    t[i] = UNSUPPORTED;
                    break;
                default:
                    throw new IllegalArgumentException("xattrmap rule " + (i + 1) + ": unknown type " + f[0]);
            }
            switch (f[1]) {
                case "client":
                    s[i] = CLIENT;
                    break;
                case "server":
                    s[i] = SERVER;
                    break;
                case "all":
                    s[i] = CLIENT | SERVER;
                    break;
                default:
                    throw new IllegalArgumentException("xattrmap rule " + (i + 1) + ": unknown scope " + f[1]);
            }
            k[i] = f[2].getBytes(StandardCharsets.UTF_8);
            p[i] = f[3].getBytes(StandardCharsets.UTF_8);
        }
        return new XattrMap(t, s, k, p);
    }

    private static boolean startsWith(byte[] name, int len, byte[] prefix) {
        if (prefix.length > len) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (name[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    /** The host name for a client name; EPERM (bad, or no rule) or ENOTSUP (unsupported) otherwise. */
    public byte[] mapClient(byte[] name) throws ErrnoException {
        for (int i = 0; i < type.length; i++) {
            if ((scope[i] & CLIENT) == 0 || !startsWith(name, name.length, key[i])) {
                continue;
            }
            switch (type[i]) {
                case PREFIX: {
                    byte[] out = Arrays.copyOf(prepend[i], prepend[i].length + name.length);
                    System.arraycopy(name, 0, out, prepend[i].length, name.length);
                    return out;
                }
                case OK:
                    return name;
                case UNSUPPORTED:
                    throw ErrnoException.of(Errno.EOPNOTSUPP);
                default:
                    throw ErrnoException.of(Errno.EPERM);
            }
        }
        throw ErrnoException.of(Errno.EPERM);
    }

    /** The client name for a host name, or null when the host name is hidden. */
    public byte[] mapServer(byte[] name, int off, int len) {
        byte[] n = Arrays.copyOfRange(name, off, off + len);
        for (int i = 0; i < type.length; i++) {
            if ((scope[i] & SERVER) == 0 || !startsWith(n, len, prepend[i])) {
                continue;
            }
            switch (type[i]) {
                case PREFIX:
                    return Arrays.copyOfRange(n, prepend[i].length, len);
                case OK:
                    return n;
                default:
                    return null;
            }
        }
        return null;
    }

    /**
     * Maps a listxattr reply ({@code len} bytes of NUL-terminated names): each name mapped, hidden
     * ones left out. Empty names (there are none from the kernel) are dropped.
     */
    public List<byte[]> mapServerList(byte[] list, int len) {
        List<byte[]> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < len; i++) {
            if (list[i] == 0) {
                if (i > start) {
                    byte[] m = mapServer(list, start, i - start);
                    if (m != null && m.length > 0) {
                        out.add(m);
                    }
                }
                start = i + 1;
            }
        }
        return out;
    }

    /** Number of rules (for tests and logs). */
    public int size() {
        return type.length;
    }
}
