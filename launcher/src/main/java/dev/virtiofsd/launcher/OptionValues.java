package dev.virtiofsd.launcher;

import static dev.virtiofsd.launcher.CommandLine.usage;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/** The values options take, checked: each check fails with a one-line {@link UsageException} naming the option. */
final class OptionValues {
    /** A strategy name goes into an LDAP filter: keep it to characters that need no escaping. */
    private static final Pattern STRATEGY_NAME = Pattern.compile("[A-Za-z0-9._-]+");

    private OptionValues() {}

    /** A name --strategy accepts (also a profile's strategy key). */
    static boolean isStrategyName(String name) {
        return STRATEGY_NAME.matcher(name).matches();
    }

    /** MAX_TAG_LEN of virtiofsd (the virtio-fs config space holds 36 bytes). */
    static final int MAX_TAG_LEN = 36;

    static String tag(String option, String value) throws UsageException {
        int len = value.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (len == 0 || len > MAX_TAG_LEN) {
            throw usage(option + " " + value + ": a tag is 1 to " + MAX_TAG_LEN + " bytes");
        }
        return value;
    }

    static void xattrmap(Options o, String option, String value) throws UsageException {
        try {
            List<XattrMapSyntax.Rule> rules = XattrMapSyntax.parse(value);
            o.xattrmap = value;
            o.xattrmapRules.clear();
            o.xattrmapRules.addAll(rules);
        } catch (IllegalArgumentException e) {
            throw usage(option + " " + oneLine(value) + ": " + e.getMessage());
        }
    }

    static String translation(String option, String value) throws UsageException {
        try {
            return IdMapSyntax.translation(value);
        } catch (IllegalArgumentException e) {
            throw usage(option + " " + value + ": " + e.getMessage());
        }
    }

    static long[] namespaceRange(String option, String value) throws UsageException {
        try {
            return IdMapSyntax.namespaceRange(value);
        } catch (IllegalArgumentException e) {
            throw usage(option + " " + value + ": " + e.getMessage());
        }
    }

    static String oneLine(String s) {
        return s.replaceAll("\\s+", " ").strip();
    }

    static String nonEmpty(String option, String value) throws UsageException {
        if (value.isEmpty()) {
            throw usage(option + " needs a non-empty value");
        }
        return value;
    }

    static int nonNegativeInt(String option, String value) throws UsageException {
        try {
            int v = Integer.parseInt(value);
            if (v >= 0) {
                return v;
            }
        } catch (NumberFormatException e) {
            // fall through to the message
        }
        throw usage(option + " " + value + ": not a non-negative integer");
    }

    static String oneOf(String option, String value, Set<String> allowed) throws UsageException {
        if (!allowed.contains(value)) {
            throw usage(option + " " + value + ": must be one of " + String.join("|", sorted(allowed)));
        }
        return value;
    }

    private static List<String> sorted(Set<String> set) {
        List<String> l = new ArrayList<>(set);
        l.sort(null);
        return l;
    }
}
