package dev.virtiofsd.control.internal;

import java.util.Map;

/** The little JSON the commands print: strings escaped per RFC 8259, numbers, flat maps. */
final class Json {
    private Json() {}

    static String string(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    b.append("\\\"");
                    break;
                case '\\':
                    b.append("\\\\");
                    break;
                case '\n':
                    b.append("\\n");
                    break;
                case '\r':
                    b.append("\\r");
                    break;
                case '\t':
                    b.append("\\t");
                    break;
                default:
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
            }
        }
        return b.append('"').toString();
    }

    static StringBuilder field(StringBuilder b, String name) {
        return b.append(string(name)).append(':');
    }

    static StringBuilder longs(StringBuilder b, Map<String, Long> m) {
        b.append('{');
        boolean first = true;
        for (Map.Entry<String, Long> e : m.entrySet()) {
            if (!first) {
                b.append(',');
            }
            first = false;
            field(b, e.getKey()).append(e.getValue());
        }
        return b.append('}');
    }
}
