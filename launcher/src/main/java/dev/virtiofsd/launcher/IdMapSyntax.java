package dev.virtiofsd.launcher;

import java.util.Locale;

/**
 * The id-map arguments of virtiofsd: {@code --translate-uid/--translate-gid TYPE:A:B:C} (internal
 * translation: guest, host, squash-guest, squash-host, map with three numbers, forbid-guest with
 * two; any non-alphanumeric separator other than '-' and '_', the same throughout) and
 * {@code --uid-map/--gid-map :inside:outside:count:} (user namespace ranges; the delimiter is the
 * last character and must also start the value).
 */
public final class IdMapSyntax {
    private IdMapSyntax() {}

    /** A --translate-uid/--translate-gid value in canonical form {@code type:a:b[:c]}; else an exception. */
    public static String translation(String value) throws IllegalArgumentException {
        int i = 0;
        StringBuilder prefix = new StringBuilder();
        while (i < value.length()) {
            char c = value.charAt(i);
            if (Character.isLetterOrDigit(c) || c == '-' || c == '_') {
                prefix.append(Character.toLowerCase(c));
                i++;
            } else {
                break;
            }
        }
        if (i >= value.length()) {
            throw new IllegalArgumentException("expected TYPE:SOURCE:TARGET:COUNT");
        }
        char sep = value.charAt(i);
        String[] fields = value.substring(i + 1).split(java.util.regex.Pattern.quote(String.valueOf(sep)), -1);
        String type = prefix.toString();
        int expected;
        switch (type) {
            case "guest":
            case "host":
            case "squash-guest":
            case "squash-host":
            case "map":
                expected = 3;
                break;
            case "forbid-guest":
                expected = 2;
                break;
            default:
                throw new IllegalArgumentException(
                        "unknown type '" + type + "' (guest, host, squash-guest, squash-host, forbid-guest, map)");
        }
        if (fields.length != expected) {
            throw new IllegalArgumentException(type + " takes " + expected + " numbers, got " + fields.length);
        }
        StringBuilder out = new StringBuilder(type);
        long count = 0;
        long base = 0;
        for (int f = 0; f < fields.length; f++) {
            long v = u32(fields[f]);
            out.append(':').append(v);
            if (f == 0) {
                base = v;
            }
            if (f == fields.length - 1) {
                count = v;
            }
        }
        if (base + count > 0x1_0000_0000L) {
            throw new IllegalArgumentException("range " + base + "+" + count + " overflows 32 bits");
        }
        return out.toString().toLowerCase(Locale.ROOT);
    }

    /** A --uid-map/--gid-map value as {inside, outside, count}; else an exception. */
    public static long[] namespaceRange(String value) throws IllegalArgumentException {
        if (value.isEmpty()) {
            throw new IllegalArgumentException("expected :INSIDE:OUTSIDE:COUNT:");
        }
        char d = value.charAt(value.length() - 1);
        if (Character.isLetterOrDigit(d)) {
            throw new IllegalArgumentException("expected :INSIDE:OUTSIDE:COUNT: (the delimiter is missing)");
        }
        String body = value.substring(0, value.length() - 1);
        if (body.isEmpty() || body.charAt(0) != d) {
            throw new IllegalArgumentException("expected :INSIDE:OUTSIDE:COUNT: (it must start with the delimiter)");
        }
        String[] fields = body.substring(1).split(java.util.regex.Pattern.quote(String.valueOf(d)), -1);
        if (fields.length != 3) {
            throw new IllegalArgumentException("expected three numbers :INSIDE:OUTSIDE:COUNT:, got " + fields.length);
        }
        return new long[] {u32(fields[0]), u32(fields[1]), u32(fields[2])};
    }

    private static long u32(String s) {
        try {
            long v = Long.parseLong(s);
            if (v >= 0 && v <= 0xffff_ffffL && !s.startsWith("+")) {
                return v;
            }
        } catch (NumberFormatException e) {
            // the message below
        }
        throw new IllegalArgumentException("'" + s + "' is not a number from 0 to 4294967295");
    }
}
