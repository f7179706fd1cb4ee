package dev.virtiofsd.it.guest;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What one QEMU run produced: parsed console markers, exit statuses and timings. */
public final class GuestResult {
    /** One "RESULT name PASS|FAIL detail" line of the guest. */
    public record Check(String name, boolean pass, String detail) {
        @Override
        public String toString() {
            return name + " " + (pass ? "PASS" : "FAIL") + (detail.isEmpty() ? "" : " " + detail);
        }
    }

    private static final Pattern RESULT = Pattern.compile("RESULT (\\S+) (PASS|FAIL) ?(.*)");
    private static final Pattern VALUE = Pattern.compile("VALUE (\\S+) (\\S+)");
    private static final Pattern TIME = Pattern.compile("TIME (\\S+) (\\S+)");
    private static final Pattern STEP = Pattern.compile("STEP (\\S+)");

    public final String console;
    public final String daemonLog;
    public final List<Check> checks = new ArrayList<>();
    public final Map<String, String> values = new LinkedHashMap<>();
    public final Map<String, String> guestTimes = new LinkedHashMap<>();
    public final int boots;
    public final int ends;
    /** QEMU's exit status, null when it had to be killed at the timeout. */
    public final Integer qemuExit;
    /** The daemon's exit status if it exited by itself after QEMU was gone, else null. */
    public final Integer daemonExit;
    /** Why the harness killed QEMU (timeout, idle console, reboot loop), or null. */
    public final String killedBecause;
    /** The last STEP the guest started (names the step that hung when QEMU was killed). */
    public final String lastStep;

    public final long daemonStartMillis;
    public final long guestMillis;
    public final long daemonExitMillis;

    public GuestResult(
            String console,
            String daemonLog,
            Integer qemuExit,
            Integer daemonExit,
            String killedBecause,
            long daemonStartMillis,
            long guestMillis,
            long daemonExitMillis) {
        this.killedBecause = killedBecause;
        this.console = console;
        this.daemonLog = daemonLog;
        this.qemuExit = qemuExit;
        this.daemonExit = daemonExit;
        this.daemonStartMillis = daemonStartMillis;
        this.guestMillis = guestMillis;
        this.daemonExitMillis = daemonExitMillis;
        int b = 0;
        int e = 0;
        String step = null;
        for (String raw : console.split("\n", -1)) {
            String line = raw.replace("\r", "");
            Matcher m = RESULT.matcher(line);
            if (m.find()) {
                checks.add(new Check(
                        m.group(1), m.group(2).equals("PASS"), m.group(3).strip()));
                continue;
            }
            m = VALUE.matcher(line);
            if (m.find()) {
                values.put(m.group(1), m.group(2));
                continue;
            }
            m = TIME.matcher(line);
            if (m.find()) {
                guestTimes.put(m.group(1), m.group(2));
                continue;
            }
            m = STEP.matcher(line);
            if (m.find()) {
                step = m.group(1);
                continue;
            }
            if (line.contains("GUEST-BOOT ")) b++;
            if (line.contains("GUEST-END ")) e++;
        }
        this.lastStep = step;
        this.boots = b;
        this.ends = e;
    }

    public List<Check> failures() {
        return checks.stream().filter(c -> !c.pass()).toList();
    }

    public List<String> checkNames() {
        return checks.stream().map(Check::name).toList();
    }

    /** A report for assertion messages: checks, values, statuses and the log tails. */
    public String describe() {
        StringBuilder s = new StringBuilder();
        if (killedBecause != null) {
            s.append("QEMU KILLED: ")
                    .append(killedBecause)
                    .append(", last guest step: ")
                    .append(lastStep)
                    .append('\n');
        }
        s.append("qemuExit=")
                .append(qemuExit)
                .append(" daemonExit=")
                .append(daemonExit)
                .append(" boots=")
                .append(boots)
                .append(" ends=")
                .append(ends)
                .append(" daemonStart=")
                .append(daemonStartMillis)
                .append("ms guest=")
                .append(guestMillis)
                .append("ms daemonExitAfter=")
                .append(daemonExitMillis)
                .append("ms\n");
        checks.forEach(c -> s.append("  ").append(c).append('\n'));
        values.forEach(
                (k, v) -> s.append("  VALUE ").append(k).append(' ').append(v).append('\n'));
        guestTimes.forEach(
                (k, v) -> s.append("  TIME ").append(k).append(' ').append(v).append('\n'));
        s.append("--- console (tail) ---\n").append(tail(console, 60));
        s.append("--- daemon log (tail) ---\n").append(tail(daemonLog, 40));
        return s.toString();
    }

    @SuppressWarnings("StringSplitter") // trailing blank lines are meant to go
    static String tail(String text, int lines) {
        String[] all = text.split("\n");
        StringBuilder s = new StringBuilder();
        for (int i = Math.max(0, all.length - lines); i < all.length; i++)
            s.append(all[i]).append('\n');
        return s.toString();
    }
}
