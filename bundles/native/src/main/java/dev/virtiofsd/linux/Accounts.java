package dev.virtiofsd.linux;

import dev.virtiofsd.api.ErrnoException;
import jnr.posix.Group;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/** Users, groups and capabilities of this process, through jnr-posix and procfs. */
public final class Accounts {
    /** CAP_DAC_READ_SEARCH: needed by open_by_handle_at. */
    public static final int CAP_DAC_READ_SEARCH = 2;

    private static volatile POSIX posix;

    private Accounts() {}

    private static POSIX posix() {
        POSIX p = posix;
        if (p == null) {
            p = POSIXFactory.getNativePOSIX();
            posix = p;
        }
        return p;
    }

    /** The gid of a group given by name or number, or -1 if there is no such group. */
    public static int groupId(String nameOrNumber) {
        if (nameOrNumber.chars().allMatch(Character::isDigit) && !nameOrNumber.isEmpty()) {
            return Integer.parseInt(nameOrNumber);
        }
        Group g = posix().getgrnam(nameOrNumber);
        return g == null ? -1 : (int) g.getGID();
    }

    public static int euid() {
        return posix().geteuid();
    }

    public static int pid() {
        return posix().getpid();
    }

    /** Whether {@code cap} is in this thread's effective capability set (capget(2); also inside the sandbox). */
    public static boolean hasCapability(int cap) {
        try {
            return (Linux.capget()[0] & (1L << cap)) != 0;
        } catch (ErrnoException e) {
            return false;
        }
    }
}
