package dev.virtiofsd.it.guest;

/**
 * Runs one guest by hand, e.g. to validate the harness against the Rust peer:
 * {@code java -Dguest.daemon=peer ... dev.virtiofsd.it.guest.GuestHarnessMain mount never xattr}
 * Arguments: workload (mount|reboot), strategy (never|prefer|mandatory), optional "xattr".
 */
public final class GuestHarnessMain {
    public static void main(String[] args) throws Exception {
        String workload = args.length > 0 ? args[0] : "mount";
        String strategy = args.length > 1 ? args[1] : "never";
        boolean xattr = args.length > 2 && args[2].equals("xattr");
        GuestRun run = GuestRun.prepare("main-" + workload + "-" + strategy);
        DaemonCommand daemon = DaemonCommand.selected(run.sharedDir(), run.socket(), strategy, xattr);
        System.out.println("daemon: " + daemon);
        long t0 = System.nanoTime();
        GuestResult r = run.execute(daemon, workload, xattr, workload.equals("reboot"));
        System.out.println(r.describe());
        System.out.printf(
                "total %d ms, failures %d, work dir %s%n",
                (System.nanoTime() - t0) / 1_000_000, r.failures().size(), run.workDir());
        System.exit(
                r.failures().isEmpty()
                                && r.qemuExit != null
                                && Integer.valueOf(0).equals(r.daemonExit)
                        ? 0
                        : 1);
    }
}
