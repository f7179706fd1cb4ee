package dev.virtiofsd.launcher;

import java.util.List;

/**
 * The command line, compatible with Rust virtiofsd 1.13 for every option we support: both
 * {@code --opt value} and {@code --opt=value}. Options of virtiofsd we do not implement are known by
 * name and rejected with a message saying so, never silently ignored.
 *
 * <p>This class reads the arguments; the options themselves are in {@link OptionTable} (their values
 * checked by {@link OptionValues}, {@code -o} by {@link LegacyOptions}), the checks of the whole
 * command line in {@link OptionChecks}, and what it prints in {@link HelpText}.
 */
public final class CommandLine {
    public static final String PROGRAM = "virtiofsd-java";

    /** bin/virtiofsd-java passes the effective uid it was started with (the JVM may be root of a user namespace). */
    static final String STARTING_UID_PROPERTY = "virtiofsd.sandbox.euid";

    private CommandLine() {}

    /**
     * Parses {@code args}. Stops at the first problem with a {@link UsageException} whose message
     * is one line naming the option. --help and --version end parsing at once.
     */
    public static Options parse(String... args) throws UsageException {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String name = arg;
            String value = null;
            if (arg.startsWith("--")) {
                int eq = arg.indexOf('=');
                if (eq > 0) {
                    name = arg.substring(0, eq);
                    value = arg.substring(eq + 1);
                }
            } else if (arg.startsWith("-") && arg.length() > 2) {
                // -oVALUE, the attached form of short options with a value.
                name = arg.substring(0, 2);
                value = arg.substring(2);
            } else if (!arg.startsWith("-") || arg.equals("-")) {
                throw usage("unexpected argument '" + arg + "' (options start with --; see --help)");
            }
            OptionTable.Spec spec = OptionTable.spec(name);
            if (spec == null) {
                if (OptionTable.UNSUPPORTED.containsKey(name)) {
                    throw usage(name + " is not supported by " + PROGRAM);
                }
                throw usage("unknown option " + name + " (see --help)");
            }
            if (spec.arity() == OptionTable.Arity.FLAG) {
                if (value != null) {
                    throw usage(name + " takes no value, got '" + value + "'");
                }
            } else if (value == null) {
                if (i + 1 >= args.length) {
                    throw usage(name + " needs a value " + spec.valueName());
                }
                value = args[++i];
            }
            spec.setter().set(o, name, value);
            o.given.add(name.equals("--socket") ? "--socket-path" : name);
            if (o.help || o.version) {
                return o;
            }
        }
        if (o.printCapabilities) {
            return o;
        }
        if (o.profile == null) {
            // With a profile the check waits until its launcher section (transport) is applied: Main.
            OptionChecks.checkCombination(o);
        }
        return o;
    }

    /** A name --strategy accepts (also a profile's strategy key). */
    static boolean isStrategyName(String name) {
        return OptionValues.isStrategyName(name);
    }

    /** The options that go together; {@link #parse} runs it unless a profile is given (then Main does). */
    public static void checkCombination(Options o) throws UsageException {
        OptionChecks.checkCombination(o);
    }

    /**
     * Checks what the command line names on this machine, before the framework boots: the shared
     * directory, the socket's directory, the mountpoint, the bundle directories, the fd.
     */
    public static void validate(Options o) throws UsageException {
        OptionChecks.validate(o);
    }

    /** The --help text: every option, ours and the virtiofsd ones we reject. */
    public static String help() {
        return HelpText.help();
    }

    /** Every option name --help shows (for tests). */
    public static List<String> optionNames() {
        return HelpText.optionNames();
    }

    /** What libvirt reads (vhost-user.rst "fs" type); "separate-options": we take --xattr etc., not -o. */
    public static String capabilities() {
        return HelpText.capabilities();
    }

    static UsageException usage(String message) {
        return new UsageException(UsageException.USAGE, message);
    }

    static UsageException invalid(String message) {
        return new UsageException(UsageException.INVALID, message);
    }
}
