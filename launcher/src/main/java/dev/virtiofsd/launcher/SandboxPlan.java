package dev.virtiofsd.launcher;

import java.io.PrintStream;

/**
 * What bin/virtiofsd-java must prepare before the JVM when a {@code --profile} is given: a profile
 * may set the sandbox, the transport, the strategy or a control socket, which decide the
 * namespaces and the capability bounding set, and the script cannot read a Configurator JSON
 * file itself. Prints {@code key=value} lines (values of the same validated forms the command line
 * takes); prints nothing for a command line or profile the launcher will refuse anyway (then it
 * names the problem itself).
 */
public final class SandboxPlan {
    private SandboxPlan() {}

    public static void main(String[] args) {
        print(args, System.out);
    }

    static void print(String[] args, PrintStream out) {
        Options o;
        try {
            o = CommandLine.parse(args);
            if (o.help || o.version || o.printCapabilities) {
                return;
            }
            if (o.profile != null) {
                o.loadedProfile = Profile.load(o.profile, Main.home());
                Main.applyLauncherSection(o, o.loadedProfile);
                CommandLine.checkCombination(o); // as Main does: it settles the transport's sandbox
            }
        } catch (UsageException | RuntimeException e) {
            return;
        }
        out.println("sandbox=" + o.sandbox);
        out.println("transport=" + o.transport);
        out.println("strategy=" + o.strategyName());
        out.println("control=" + (o.controlSocket != null ? "1" : ""));
    }
}
