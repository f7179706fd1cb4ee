package dev.virtiofsd.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs host tools (coreutils, attr, util-linux) and captures their output. */
public final class Shell {
    private Shell() {}

    /** Exit status and combined stdout+stderr of a finished command. */
    public record Result(int status, String output) {}

    public static Result run(long timeoutSeconds, String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("timed out: " + String.join(" ", command));
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError("cannot run " + String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** {@code sh -c script} with {@code $1} = arg. */
    public static Result sh(long timeoutSeconds, String script, String arg) {
        return run(timeoutSeconds, "sh", "-c", script, "sh", arg);
    }

    /**
     * {@code sh -c script} as uid/gid {@code id} with no supplementary groups (util-linux setpriv),
     * {@code $1} = arg.
     */
    public static Result shAs(int id, long timeoutSeconds, String script, String arg) {
        List<String> cmd = new ArrayList<>(
                List.of("setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups", "sh", "-c", script, "sh", arg));
        return run(timeoutSeconds, cmd.toArray(new String[0]));
    }
}
