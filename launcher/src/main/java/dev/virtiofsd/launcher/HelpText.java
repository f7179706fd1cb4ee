package dev.virtiofsd.launcher;

import static dev.virtiofsd.launcher.CommandLine.PROGRAM;

import dev.virtiofsd.launcher.OptionTable.Arity;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** What the command line prints: --help (also the manual page's source) and --print-capabilities. */
final class HelpText {
    private HelpText() {}

    /** The --help text: every option, ours and the virtiofsd ones we reject. */
    static String help() {
        StringBuilder b = new StringBuilder();
        b.append("Launch a virtio-fs backend (vhost-user-fs device daemon), compatible with virtiofsd.\n\n");
        b.append("Usage: ")
                .append(PROGRAM)
                .append(" --shared-dir <SHARED_DIR> --socket-path <SOCKET_PATH> [OPTIONS]\n");
        b.append("       ")
                .append(PROGRAM)
                .append(" --transport=fuse-dev --shared-dir <SHARED_DIR> --mountpoint <DIR> [OPTIONS]\n\n");
        b.append("Options (as in virtiofsd):\n");
        appendSpecs(b, OptionTable.SUPPORTED);
        b.append("\nOptions of ").append(PROGRAM).append(":\n");
        appendSpecs(b, OptionTable.OWN);
        b.append("\nAccepted for compatibility:\n");
        appendSpecs(b, OptionTable.COMPAT);
        if (!OptionTable.UNSUPPORTED.isEmpty()) {
            b.append("\nvirtiofsd options not supported (rejected with an error):\n ");
            int col = 1;
            for (Map.Entry<String, Arity> e : OptionTable.UNSUPPORTED.entrySet()) {
                String s = " " + e.getKey() + (e.getValue() == Arity.VALUE ? " <VALUE>" : "");
                if (col + s.length() > 100) {
                    b.append("\n ");
                    col = 1;
                }
                b.append(s);
                col += s.length();
            }
            b.append('\n');
        }
        b.append("\nBoth --option VALUE and --option=VALUE are accepted.\n");
        return b.toString();
    }

    private static void appendSpecs(StringBuilder b, Map<String, OptionTable.Spec> specs) {
        for (OptionTable.Spec s : specs.values()) {
            String left = "  " + s.name() + (s.arity() == Arity.VALUE ? " <" + s.valueName() + ">" : "");
            b.append(left);
            if (left.length() < 38) {
                b.append(" ".repeat(38 - left.length()));
            } else {
                b.append("\n").append(" ".repeat(38));
            }
            b.append(s.help()).append('\n');
        }
    }

    /** Every option name --help shows (for tests). */
    static List<String> optionNames() {
        List<String> names = new ArrayList<>(OptionTable.SUPPORTED.keySet());
        names.addAll(OptionTable.OWN.keySet());
        names.addAll(OptionTable.COMPAT.keySet());
        names.addAll(OptionTable.UNSUPPORTED.keySet());
        return names;
    }

    /** What libvirt reads (vhost-user.rst "fs" type); "separate-options": we take --xattr etc., not -o. */
    static String capabilities() {
        return "{\n  \"type\": \"fs\",\n  \"features\": [\n    \"migrate-precopy\",\n    \"separate-options\"\n  ]\n}\n";
    }
}
