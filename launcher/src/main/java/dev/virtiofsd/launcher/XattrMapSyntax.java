package dev.virtiofsd.launcher;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The {@code --xattrmap} grammar of virtiofsd (doc/xattr-mapping.md): rules separated by white
 * space, each {@code <d>type<d>scope<d>key<d>prepend<d>} where {@code <d>} is the rule's first
 * character, any delimiter; or {@code <d>map<d>key<d>prepend<d>}, which must be the last rule and
 * expands into a prefix rule, a bad rule guarding the target prefix (when the key is not empty) and
 * a terminating ok/bad rule. The result is the flat rule list the passthrough filesystem applies:
 * each rule {@code "type scope"} plus key and prepend (see {@link #encode}).
 */
public final class XattrMapSyntax {
    private static final Set<String> TYPES = Set.of("prefix", "ok", "bad", "unsupported");
    private static final Set<String> SCOPES = Set.of("all", "client", "server");

    /** One rule after map expansion. */
    public record Rule(String type, String scope, String key, String prepend) {}

    private XattrMapSyntax() {}

    /** Parses a whole map; the message of the exception names the rule (1-based) and the problem. */
    public static List<Rule> parse(String map) throws IllegalArgumentException {
        String s = map.strip();
        List<Rule> rules = new ArrayList<>();
        int i = 0;
        int n = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
                continue;
            }
            n++;
            char d = c;
            i++;
            String[] field = new String[5];
            int fields = 0;
            String type = null;
            int wanted = 4;
            while (fields < wanted) {
                int end = s.indexOf(d, i);
                if (end < 0) {
                    throw new IllegalArgumentException(
                            "rule " + n + " is incomplete (a field lacks its closing '" + d + "')");
                }
                field[fields++] = s.substring(i, end);
                i = end + 1;
                if (fields == 1) {
                    type = field[0];
                    if (type.equals("map")) {
                        wanted = 3;
                    } else if (!TYPES.contains(type)) {
                        throw new IllegalArgumentException(
                                "rule " + n + ": type '" + type + "' is not one of prefix, ok, bad, unsupported, map");
                    }
                }
            }
            if ("map".equals(type)) {
                String rest = s.substring(i).strip();
                if (!rest.isEmpty()) {
                    throw new IllegalArgumentException("rule " + n + ": a map rule must be the last rule");
                }
                String key = field[1];
                String prepend = field[2];
                rules.add(new Rule("prefix", "all", key, prepend));
                if (!key.isEmpty()) {
                    // hide unprefixed host names matching the key, keep the client from the target directly
                    rules.add(new Rule("bad", "all", prepend, key));
                    rules.add(new Rule("ok", "all", "", ""));
                } else {
                    rules.add(new Rule("bad", "all", "", ""));
                }
            } else {
                if (!SCOPES.contains(field[1])) {
                    throw new IllegalArgumentException(
                            "rule " + n + ": scope '" + field[1] + "' is not one of all, client, server");
                }
                rules.add(new Rule(type, field[1], field[2], field[3]));
            }
        }
        if (rules.isEmpty()) {
            throw new IllegalArgumentException("no rules");
        }
        for (Rule r : rules) {
            if (r.key.indexOf('\0') >= 0 || r.prepend.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("a rule contains a NUL character");
            }
        }
        return rules;
    }

    /**
     * The configuration form: one string per rule, {@code type}, {@code scope}, {@code key} and
     * {@code prepend} separated by NUL (which no xattr name contains).
     */
    public static String[] encode(List<Rule> rules) {
        String[] out = new String[rules.size()];
        for (int i = 0; i < out.length; i++) {
            Rule r = rules.get(i);
            out[i] = r.type + '\0' + r.scope + '\0' + r.key + '\0' + r.prepend;
        }
        return out;
    }
}
