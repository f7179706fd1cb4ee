package dev.virtiofsd.it.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.virtiofsd.it.guest.GuestEnvironment;
import dev.virtiofsd.it.guest.GuestRun;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every option case of virtiofsd 1.13's --help, given to Rust virtiofsd 1.13 (the peer) and to ours
 * with the same base command line, as root: a case "starts" when the daemon listens on its socket
 * (or, for --print-capabilities, exits 0). Every case the peer starts must start ours, and the
 * serving processes must agree on what the sandbox options govern (root directory, mount namespace,
 * capabilities, RLIMIT_NOFILE, seccomp); both tables are printed (the closing notes quote them).
 */
class OptionCasesIT {
    @TempDir
    Path tmp;

    /** Case name -> extra arguments (after --shared-dir DIR --socket-path SOCK, unless the case replaces them). */
    static Map<String, List<String>> cases(Path shared) {
        Map<String, List<String>> c = new LinkedHashMap<>();
        c.put("(base)", List.of());
        c.put("--tag", List.of("--tag", "myfs"));
        c.put("--socket (deprecated)", List.of("@socket"));
        c.put("--socket-group", List.of("--socket-group", "root"));
        c.put("--thread-pool-size", List.of("--thread-pool-size", "4"));
        c.put("--xattr", List.of("--xattr"));
        c.put("--posix-acl", List.of("--posix-acl"));
        c.put("--xattrmap", List.of("--xattrmap", ":map::user.virtiofs.:"));
        c.put("--sandbox none", List.of("--sandbox", "none"));
        c.put("--sandbox chroot", List.of("--sandbox", "chroot"));
        c.put("--sandbox namespace", List.of("--sandbox", "namespace"));
        c.put("--seccomp log", List.of("--seccomp", "log"));
        c.put("--readonly", List.of("--readonly"));
        c.put("--seccomp none", List.of("--seccomp", "none"));
        c.put("--announce-submounts", List.of("--announce-submounts"));
        c.put("--no-announce-submounts", List.of("--no-announce-submounts"));
        c.put("--inode-file-handles=prefer", List.of("--inode-file-handles=prefer"));
        c.put("--cache always", List.of("--cache", "always"));
        c.put("--allow-mmap", List.of("--allow-mmap", "--cache=never"));
        c.put("--no-readdirplus", List.of("--no-readdirplus"));
        c.put("--writeback", List.of("--writeback"));
        c.put("--allow-direct-io", List.of("--allow-direct-io"));
        c.put("--print-capabilities", List.of("@print-capabilities"));
        c.put("--modcaps", List.of("--modcaps=+sys_admin"));
        c.put("--log-level debug", List.of("--log-level", "debug"));
        c.put("--syslog", List.of("--syslog"));
        c.put("--rlimit-nofile", List.of("--rlimit-nofile", "4096"));
        c.put("-o (libvirt's list)", List.of("@o", "-o", "source=" + shared + ",cache=none,xattr"));
        // libvirt's <sandbox mode='chroot'/>; the legacy list's sandbox= and modcaps= keys
        c.put("-o sandbox=chroot", List.of("@o", "-o", "source=" + shared + ",sandbox=chroot"));
        c.put(
                "-o sandbox=namespace,modcaps=",
                List.of("@o", "-o", "source=" + shared + ",sandbox=namespace,modcaps=+sys_admin:-mknod"));
        c.put("-d", List.of("-d"));
        c.put("--no-killpriv-v2", List.of("--no-killpriv-v2"));
        c.put("--killpriv-v2", List.of("--killpriv-v2"));
        c.put("-f", List.of("-f"));
        c.put("--security-label", List.of("--security-label"));
        c.put("--uid-map/--gid-map", List.of("--uid-map", ":0:0:1:", "--gid-map", ":0:0:1:"));
        c.put(
                "--translate-uid/--translate-gid",
                List.of("--translate-uid", "map:0:0:1", "--translate-gid", "guest:5:6:1"));
        c.put("--preserve-noatime", List.of("--preserve-noatime"));
        c.put("--migration-mode", List.of("--migration-mode", "file-handles"));
        c.put("--migration-on-error", List.of("--migration-on-error", "guest-error"));
        c.put("--migration-verify-handles", List.of("--migration-verify-handles"));
        c.put("--migration-confirm-paths", List.of("--migration-confirm-paths"));
        return c;
    }

    private static List<String> argv(String binary, Path shared, Path socket, List<String> extra) {
        List<String> a = new ArrayList<>(List.of(binary));
        if (extra.contains("@print-capabilities")) {
            a.add("--print-capabilities");
            return a;
        }
        if (extra.contains("@o")) {
            a.addAll(List.of("--socket-path", socket.toString()));
            a.addAll(extra.subList(1, extra.size()));
        } else if (extra.contains("@socket")) {
            a.addAll(List.of("--shared-dir", shared.toString(), "--socket", socket.toString()));
        } else {
            a.addAll(List.of("--shared-dir", shared.toString(), "--socket-path", socket.toString()));
            a.addAll(extra);
        }
        return a;
    }

    /**
     * "starts", or why not (exit status and the log's last line); and, once it serves, what the
     * sandbox options govern in its serving process ({@link #sandboxFacts}).
     */
    static String[] outcome(List<String> argv, Path shared, Path socket, Path log, boolean printCaps, String ready)
            throws Exception {
        Files.deleteIfExists(socket);
        Process p = new ProcessBuilder(argv)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                if (printCaps) {
                    if (p.waitFor(60, TimeUnit.SECONDS)) {
                        String out = Files.readString(log);
                        return new String[] {
                            p.exitValue() == 0 && out.contains("\"type\": \"fs\"") ? "starts" : "exit " + p.exitValue(),
                            ""
                        };
                    }
                } else if (GuestRun.listening(socket, p.toHandle())) {
                    // both daemons listen before their sandbox is complete, and log `ready` after it
                    // (unless they log to a syslog socket: then the facts must be stable for a while)
                    long logged = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    while (!Files.readString(log).contains(ready) && System.nanoTime() < logged && p.isAlive()) {
                        Thread.sleep(25);
                    }
                    // listening is not starting: the peer as root listens, then refuses --uid-map
                    // when it enters its sandbox and exits (a race the 25 ms poll used to lose)
                    if (!p.isAlive()) {
                        return new String[] {"exit " + p.exitValue() + ": " + lastLine(log), ""};
                    }
                    return new String[] {"starts", sandboxFacts(p.toHandle(), shared)};
                }
                if (!p.isAlive()) {
                    return new String[] {"exit " + p.exitValue() + ": " + lastLine(log), ""};
                }
                Thread.sleep(25);
            }
            return new String[] {"timeout: " + lastLine(log), ""};
        } finally {
            p.destroy();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            Files.deleteIfExists(socket);
        }
    }

    /**
     * Root directory, mount namespace, effective capabilities, RLIMIT_NOFILE and seccomp mode of the
     * serving process: the daemon's process, or its live descendant without children (the peer's
     * namespace sandbox serves from a forked child). Read until three reads 250 ms apart agree:
     * both daemons listen before their sandbox is complete.
     */
    static String sandboxFacts(ProcessHandle daemon, Path shared) throws Exception {
        String last = "";
        int same = 0;
        for (int i = 0; i < 40 && same < 2; i++) {
            Thread.sleep(250);
            String f;
            try {
                f = facts(daemon, shared.toRealPath());
            } catch (IOException e) {
                f = "unreadable: " + e.getMessage();
            }
            same = f.equals(last) ? same + 1 : 0;
            last = f;
        }
        return last;
    }

    private static String facts(ProcessHandle daemon, Path shared) throws IOException {
        ProcessHandle serving = daemon.descendants()
                .filter(h -> h.isAlive() && h.children().findAny().isEmpty())
                .reduce((a, b) -> b)
                .orElse(daemon);
        Path proc = Paths.get("/proc/" + serving.pid());
        String root = Files.readSymbolicLink(proc.resolve("root")).toString();
        String mnt = Files.readSymbolicLink(proc.resolve("ns/mnt"))
                        .equals(Files.readSymbolicLink(Paths.get("/proc/self/ns/mnt")))
                ? "host"
                : "own";
        Map<String, String> status = new LinkedHashMap<>();
        for (String line : Files.readAllLines(proc.resolve("status"))) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                status.put(line.substring(0, colon), line.substring(colon + 1).trim());
            }
        }
        String nofile = "?";
        for (String line : Files.readAllLines(proc.resolve("limits"))) {
            if (line.startsWith("Max open files")) {
                String[] f = line.substring("Max open files".length()).trim().split("\\s+", -1);
                nofile = f[0] + "/" + f[1];
            }
        }
        return "root " + (root.equals(shared.toString()) ? "=share" : root) + ", mnt ns " + mnt + ", CapEff "
                + status.get("CapEff") + ", nofile " + nofile + ", seccomp " + status.get("Seccomp");
    }

    static String lastLine(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        for (int i = lines.size() - 1; i >= 0; i--) {
            if (!lines.get(i).isBlank()) {
                return lines.get(i).strip();
            }
        }
        return "";
    }

    @Test
    void everyCaseThePeerStartsStartsOurs() throws Exception {
        String ours = GuestEnvironment.ourLauncher().toString();
        String peer = GuestEnvironment.peerBinary().toString();
        Path shared = Files.createDirectories(tmp.resolve("shared"));
        Map<String, List<String>> cases = cases(shared);
        // three cases at a time (each with its own socket and logs): a JVM start is mostly waiting
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(3);
        Map<String, java.util.concurrent.Future<String[]>> results = new LinkedHashMap<>();
        int n = 0;
        for (Map.Entry<String, List<String>> e : cases.entrySet()) {
            int id = n++;
            results.put(e.getKey(), pool.submit(() -> {
                boolean caps = e.getValue().contains("@print-capabilities");
                Path socket = Paths.get("/tmp")
                        .resolve("vfs-oc-" + ProcessHandle.current().pid() + "-" + id + ".sock");
                String[] p = outcome(
                        argv(peer, shared, socket, e.getValue()),
                        shared,
                        socket,
                        tmp.resolve(id + "-peer.log"),
                        caps,
                        "Waiting for vhost-user socket connection");
                String[] o = outcome(
                        argv(ours, shared, socket, e.getValue()),
                        shared,
                        socket,
                        tmp.resolve(id + "-ours.log"),
                        caps,
                        "serving ");
                return new String[] {p[0], o[0], p[1], o[1]};
            }));
        }
        pool.shutdown();
        StringBuilder table = new StringBuilder("| case | Rust virtiofsd 1.13 | virtiofsd-java |\n|---|---|---|\n");
        List<String> missing = new ArrayList<>();
        List<String> differentSandbox = new ArrayList<>();
        StringBuilder facts = new StringBuilder("| case | serving process of the peer | ours |\n|---|---|---|\n");
        int peerStarts = 0;
        int oursStarts = 0;
        for (Map.Entry<String, java.util.concurrent.Future<String[]>> e : results.entrySet()) {
            String[] r = e.getValue().get(300, TimeUnit.SECONDS);
            String p = r[0];
            String o = r[1];
            table.append("| `")
                    .append(e.getKey())
                    .append("` | ")
                    .append(cell(p))
                    .append(" | ")
                    .append(cell(o))
                    .append(" |\n");
            peerStarts += p.equals("starts") ? 1 : 0;
            oursStarts += o.equals("starts") ? 1 : 0;
            if (p.equals("starts") && !o.equals("starts")) {
                missing.add(e.getKey() + ": " + o);
            }
            // what the sandbox options govern, as each daemon's serving process shows it
            String expected = documentedDifference(cases.get(e.getKey()), r[2]);
            if (!expected.equals(r[3])) {
                differentSandbox.add(e.getKey() + ": peer " + r[2] + "; ours " + r[3] + "; expected " + expected);
            }
            facts.append("| `")
                    .append(e.getKey())
                    .append("` | ")
                    .append(cell(r[2]))
                    .append(" | ");
            facts.append(r[2].equals(r[3]) ? "same" : cell(r[3])).append(" |\n");
        }
        System.out.println(table);
        System.out.println(facts);
        System.out.printf(
                "option cases: peer starts %d, ours starts %d, of %d%n", peerStarts, oursStarts, cases.size());
        assertEquals(List.of(), missing, "cases the peer starts but ours does not\n" + table);
        assertEquals(List.of(), differentSandbox, "cases whose serving process differs from the peer's\n" + facts);
    }

    /**
     * What our serving process must show where the peer's shows {@code peer}: the same, except in
     * chroot mode, where ours keeps sys_chroot (the JVM chroots after its threads exist, and a
     * thread cannot drop another thread's capabilities; seccomp refuses chroot afterwards; README
     * "Sandbox").
     */
    static String documentedDifference(List<String> args, String peer) {
        boolean chroot = args.contains("chroot") || args.stream().anyMatch(a -> a.contains("sandbox=chroot"));
        java.util.regex.Matcher m =
                java.util.regex.Pattern.compile("CapEff ([0-9a-f]{16})").matcher(peer);
        if (!chroot || !m.find()) {
            return peer;
        }
        long withChroot = Long.parseUnsignedLong(m.group(1), 16) | 1L << 18;
        return peer.substring(0, m.start(1))
                + String.format(java.util.Locale.ROOT, "%016x", withChroot)
                + peer.substring(m.end(1));
    }

    private static String cell(String outcome) {
        return outcome.replace("|", "\\|").replace("\n", " ");
    }
}
