package dev.virtiofsd.frontend.guest;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The repository's set-up scripts (scripts/guest/fetch-kernel.sh, scripts/peer/...), run from Java. */
public final class Scripts {
    private Scripts() {}

    /**
     * Runs {@code script} with /bin/sh and returns the last line of its stdout (where the scripts
     * print what they made); stderr goes to ours. A non-zero status, no output or the timeout is an
     * IOException.
     */
    public static String lastLine(Path script, long timeoutSeconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of("/bin/sh", script.toString()))
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(script + " timed out");
        }
        String text = new String(out, StandardCharsets.UTF_8).strip();
        if (p.exitValue() != 0 || text.isEmpty()) {
            throw new IOException(script + " failed with status " + p.exitValue() + ": " + text);
        }
        String[] lines = text.split("\n", -1);
        return lines[lines.length - 1].strip();
    }
}
