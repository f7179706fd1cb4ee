package dev.virtiofsd.launcher;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Linux capability names and the set the daemon keeps when it runs as root: virtiofsd's defaults,
 * what the chosen options need, then {@code --modcaps}. bin/virtiofsd-java applies the same set as
 * the capability bounding set before the JVM starts (the JVM's threads cannot drop capabilities of
 * each other afterwards); the launcher checks that its capabilities are exactly this set.
 */
public final class Capabilities {
    /** capabilities(7) names without the CAP_ prefix, lower case; the index is the bit. */
    public static final List<String> NAMES = List.of(
            "chown",
            "dac_override",
            "dac_read_search",
            "fowner",
            "fsetid",
            "kill",
            "setgid",
            "setuid",
            "setpcap",
            "linux_immutable",
            "net_bind_service",
            "net_broadcast",
            "net_admin",
            "net_raw",
            "ipc_lock",
            "ipc_owner",
            "sys_module",
            "sys_rawio",
            "sys_chroot",
            "sys_ptrace",
            "sys_pacct",
            "sys_admin",
            "sys_boot",
            "sys_nice",
            "sys_resource",
            "sys_time",
            "sys_tty_config",
            "mknod",
            "lease",
            "audit_write",
            "audit_control",
            "setfcap",
            "mac_override",
            "mac_admin",
            "syslog",
            "wake_alarm",
            "block_suspend",
            "audit_read",
            "perfmon",
            "bpf",
            "checkpoint_restore");

    /** What virtiofsd 1.13 keeps as root (its drop_capabilities). */
    public static final List<String> VIRTIOFSD_DEFAULT =
            List.of("chown", "dac_override", "fowner", "fsetid", "setgid", "setuid", "mknod", "setfcap");

    private Capabilities() {}

    /** The name of {@code cap}: "sys_admin", "cap_sys_admin", "SYS_ADMIN" all give "sys_admin"; null if unknown. */
    public static String canonical(String cap) {
        String c = cap.toLowerCase(Locale.ROOT);
        if (c.startsWith("cap_")) {
            c = c.substring(4);
        }
        return NAMES.contains(c) ? c : null;
    }

    public static long bit(String name) {
        int i = NAMES.indexOf(name);
        if (i < 0) {
            throw new IllegalArgumentException("unknown capability " + name);
        }
        return 1L << i;
    }

    /** "chown,dac_override,..." in bit order; "none" for an empty set. */
    public static String names(long mask) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            if ((mask & (1L << i)) != 0) {
                out.add(i < NAMES.size() ? NAMES.get(i) : "cap" + i);
            }
        }
        return out.isEmpty() ? "none" : String.join(",", out);
    }

    /**
     * Checks a --modcaps value in virtiofsd's syntax, {@code +cap:-cap:...} (capability names with
     * or without cap_, any case); returns it normalised ({@code +sys_admin:-chown}).
     */
    public static String parseModcaps(String value) throws IllegalArgumentException {
        List<String> out = new ArrayList<>();
        for (String item : value.split(":", -1)) {
            if (item.isEmpty()) {
                throw new IllegalArgumentException("empty item: expected (+|-)capability[:...]");
            }
            char sign = item.charAt(0);
            if (sign != '+' && sign != '-') {
                throw new IllegalArgumentException("'" + item + "' must start with + or -");
            }
            String name = canonical(item.substring(1));
            if (name == null) {
                throw new IllegalArgumentException("unknown capability '" + item.substring(1) + "'");
            }
            out.add(sign + name);
        }
        return String.join(":", out);
    }

    /**
     * The capabilities the daemon keeps as root, in order: virtiofsd's defaults, dac_read_search
     * for file handles (see {@link #needsFileHandles}), sys_chroot for --sandbox chroot, sys_admin for --transport=fuse-dev (it
     * mounts and unmounts), then --modcaps. A --modcaps that removes a capability the options need
     * is an error.
     */
    public static long expected(Options o) throws IllegalArgumentException {
        Set<String> caps = new LinkedHashSet<>(VIRTIOFSD_DEFAULT);
        Set<String> needed = new LinkedHashSet<>();
        if (needsFileHandles(o)) {
            needed.add("dac_read_search");
        }
        if (o.sandbox.equals(SandboxOptions.CHROOT)) {
            needed.add("sys_chroot");
        }
        if (o.transport.equals(Options.FUSE_DEV)) {
            needed.add("sys_admin");
        }
        caps.addAll(needed);
        if (o.modcaps != null) {
            for (String item : o.modcaps.split(":", -1)) {
                String name = item.substring(1);
                if (item.charAt(0) == '+') {
                    caps.add(name);
                } else if (needed.contains(name)) {
                    throw new IllegalArgumentException("--modcaps -" + name + ": " + why(o, name) + " needs it");
                } else {
                    caps.remove(name);
                }
            }
        }
        long mask = 0;
        for (String c : caps) {
            mask |= bit(c);
        }
        return mask;
    }

    /**
     * Whether the daemon may open file handles (open_by_handle_at needs dac_read_search): every
     * strategy but fd may (a third party's too: file handles are what other strategies use), and
     * with a control socket any strategy can be switched in while the share is mounted.
     */
    static boolean needsFileHandles(Options o) {
        return !o.strategyName().equals("fd") || o.controlSocket != null;
    }

    private static String why(Options o, String cap) {
        switch (cap) {
            case "dac_read_search":
                if (!o.strategyName().equals("fd")) {
                    return (o.strategy != null
                                    ? "--strategy " + o.strategy
                                    : o.given.contains("--inode-file-handles") || o.profileStrategy == null
                                            ? "--inode-file-handles=" + o.inodeFileHandles
                                            : "the profile's strategy " + o.profileStrategy)
                            + " (open_by_handle_at)";
                }
                return "--control-socket (a strategy with file handles can be switched in; open_by_handle_at)";
            case "sys_chroot":
                return "--sandbox chroot";
            default:
                return "--transport=fuse-dev (mount)";
        }
    }
}
