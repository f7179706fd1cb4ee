package dev.virtiofsd.it.live;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** bin/virtiofsd-java-ctl of the distribution under test, as a process. */
public final class Ctl {
    public static final Path DIST = Paths.get(System.getProperty("virtiofsd.dist", "target/virtiofsd-java"));
    public static final Path BIN = DIST.resolve("bin/virtiofsd-java-ctl");

    private Ctl() {}

    /** Exit status and output (stdout then stderr). */
    public record Result(int status, String out) {}

    public static Result call(Path socket, String... command) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(BIN.toString(), socket.toString()));
        cmd.addAll(List.of(command));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", cmd) + " hangs");
        return new Result(p.exitValue(), out);
    }

    /** Runs a command that must succeed; its output. */
    public static String ok(Path socket, String... command) throws Exception {
        Result r = call(socket, command);
        assertEquals(0, r.status(), () -> "virtiofsd-java-ctl " + String.join(" ", command) + ": " + r.out());
        return r.out();
    }

    /** A flat {"name":number,...} object of the stats JSON, e.g. inodesByKind. */
    public static Map<String, Long> numbers(String json, String field) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(field) + "\":\\{([^{}]*)\\}")
                .matcher(json);
        assertTrue(m.find(), () -> field + " in " + json);
        Map<String, Long> out = new LinkedHashMap<>();
        Matcher kv = Pattern.compile("\"([^\"]+)\":(-?\\d+)").matcher(m.group(1));
        while (kv.find()) {
            out.put(kv.group(1), Long.parseLong(kv.group(2)));
        }
        return out;
    }

    /** A top-level number of the stats JSON. */
    public static long number(String json, String field) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(field) + "\":(-?\\d+)").matcher(json);
        assertTrue(m.find(), () -> field + " in " + json);
        return Long.parseLong(m.group(1));
    }
}
