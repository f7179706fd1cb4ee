package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import java.util.ArrayList;
import java.util.List;

/**
 * virtiofsd's {@code --translate-uid}/{@code --translate-gid} for one kind of id: independent
 * guest-to-host and host-to-guest range lists; an id no range covers maps to itself. Types:
 * {@code guest:G:H:N} (guest [G,G+N) to host [H,H+N)), {@code host:H:G:N} (the reverse direction),
 * {@code squash-guest:G:H:N} (guest [G,G+N) all to host H), {@code squash-host:H:G:N},
 * {@code map:G:H:N} (both directions) and {@code forbid-guest:G:N} (EPERM for those guest ids). The
 * source ranges of one direction must not overlap. Ids are unsigned 32-bit values.
 */
public final class IdMapper {
    public static final IdMapper IDENTITY = new IdMapper(new long[0][], new long[0][]);

    private static final long RANGE = 0;
    private static final long SQUASH = 1;
    private static final long FAIL = 2;

    /** Each entry {from, count, kind, target}. */
    private final long[][] guestToHost;

    private final long[][] hostToGuest;

    private IdMapper(long[][] guestToHost, long[][] hostToGuest) {
        this.guestToHost = guestToHost;
        this.hostToGuest = hostToGuest;
    }

    /** From the canonical forms the launcher writes ({@code type:a:b[:c]}). */
    public static IdMapper parse(String[] specs) {
        if (specs == null || specs.length == 0) {
            return IDENTITY;
        }
        List<long[]> g2h = new ArrayList<>();
        List<long[]> h2g = new ArrayList<>();
        for (String spec : specs) {
            String[] f = spec.split(":", -1);
            long[] v = new long[f.length - 1];
            try {
                for (int i = 1; i < f.length; i++) {
                    v[i - 1] = Long.parseLong(f[i]);
                    if (v[i - 1] < 0 || v[i - 1] > 0xffff_ffffL) {
                        throw new NumberFormatException(f[i]);
                    }
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("id map " + spec + ": bad number " + e.getMessage());
            }
            int expected = f[0].equals("forbid-guest") ? 2 : 3;
            if (v.length != expected) {
                throw new IllegalArgumentException("id map " + spec + ": expected " + expected + " numbers");
            }
            switch (f[0]) {
                case "guest":
                    add(g2h, spec, v[0], v[2], RANGE, v[1]);
                    break;
                case "host":
                    add(h2g, spec, v[0], v[2], RANGE, v[1]);
                    break;
                case "squash-guest":
                    add(g2h, spec, v[0], v[2], SQUASH, v[1]);
                    break;
                case "squash-host":
                    add(h2g, spec, v[0], v[2], SQUASH, v[1]);
                    break;
                case "map":
                    add(g2h, spec, v[0], v[2], RANGE, v[1]);
                    add(h2g, spec, v[1], v[2], RANGE, v[0]);
                    break;
                case "forbid-guest":
                    add(g2h, spec, v[0], v[1], FAIL, 0);
                    break;
                default:
                    throw new IllegalArgumentException("id map " + spec + ": unknown type " + f[0]);
            }
        }
        return new IdMapper(g2h.toArray(new long[0][]), h2g.toArray(new long[0][]));
    }

    private static void add(List<long[]> to, String spec, long from, long count, long kind, long target) {
        if (from + count > 0x1_0000_0000L) {
            throw new IllegalArgumentException("id map " + spec + ": range overflows 32 bits");
        }
        if (kind == RANGE && target + count > 0x1_0000_0000L) {
            throw new IllegalArgumentException("id map " + spec + ": target range overflows 32 bits");
        }
        for (long[] e : to) {
            if (from < e[0] + e[1] && e[0] < from + count) {
                throw new IllegalArgumentException(
                        "id map " + spec + " overlaps an earlier range [" + e[0] + ", " + (e[0] + e[1]) + ")");
            }
        }
        to.add(new long[] {from, count, kind, target});
    }

    public boolean isIdentity() {
        return guestToHost.length == 0 && hostToGuest.length == 0;
    }

    /** The host id for a guest id; EPERM for a forbidden one. */
    public int toHost(int guestId) throws ErrnoException {
        long id = guestId & 0xffff_ffffL;
        for (long[] e : guestToHost) {
            if (id >= e[0] && id < e[0] + e[1]) {
                if (e[2] == FAIL) {
                    throw ErrnoException.of(Errno.EPERM);
                }
                return (int) (e[2] == SQUASH ? e[3] : e[3] + (id - e[0]));
            }
        }
        return guestId;
    }

    /** The guest id for a host id. */
    public int toGuest(int hostId) {
        long id = hostId & 0xffff_ffffL;
        for (long[] e : hostToGuest) {
            if (id >= e[0] && id < e[0] + e[1]) {
                return (int) (e[2] == SQUASH ? e[3] : e[3] + (id - e[0]));
            }
        }
        return hostId;
    }
}
