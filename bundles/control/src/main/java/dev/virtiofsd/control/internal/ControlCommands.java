package dev.virtiofsd.control.internal;

import dev.virtiofsd.api.config.LauncherConfiguration;
import dev.virtiofsd.api.control.StrategyControl;
import dev.virtiofsd.api.introspect.InodeStats;
import dev.virtiofsd.api.introspect.QueueStats;
import dev.virtiofsd.api.introspect.RequestStats;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Dictionary;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The operator's commands, as Felix Gogo commands in scope {@value #SCOPE} (the control socket runs
 * them for {@code virtiofsd-java-ctl}; any Gogo shell can too). Each returns its whole answer as a
 * string; a failure is an {@link IllegalArgumentException} or {@link IllegalStateException} with one
 * line saying why.
 */
@Component(
        service = ControlCommands.class,
        immediate = true,
        property = {
            "osgi.command.scope=" + ControlCommands.SCOPE,
            "osgi.command.function=strategy",
            "osgi.command.function=stats",
            "osgi.command.function=bundles",
            "osgi.command.function=profile",
            "osgi.command.function=convert",
            "osgi.command.function=update",
            "osgi.command.function=stop",
            "osgi.command.function=start"
        })
public final class ControlCommands {
    static final String SCOPE = "virtiofsd";
    /** The commands the control socket accepts, and how many arguments each takes at most. */
    static final Map<String, Integer> COMMANDS = Map.of(
            "strategy", 1, "stats", 0, "bundles", 0, "profile", 0, "convert", 1, "update", 1, "stop", 1, "start", 1);

    /** Configuration the launcher writes: profile name and source, and the PIDs it configured. */
    static final String LAUNCHER_PID = LauncherConfiguration.PID;

    private final BundleContext context;

    @Reference(
            cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile StrategyControl strategies;

    @Reference(
            cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile InodeStats inodes;

    @Reference(
            cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile RequestStats requests;

    @Reference(
            cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile QueueStats queues;

    @Reference(
            cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile ConfigurationAdmin configAdmin;

    @Activate
    public ControlCommands(BundleContext context) {
        this.context = context;
    }

    /** {@code strategy}: the name of the strategy new inodes get. */
    public String strategy() {
        return control().strategy();
    }

    /**
     * {@code strategy NAME}: new inodes get strategy NAME from now on, while the share stays mounted;
     * inodes already known keep theirs. Switches the filesystem at once, then writes the choice to
     * ConfigAdmin (PID dev.virtiofsd.passthrough, key "strategy"), so that the configuration names the
     * strategy in use, and a later configuration update does not undo it.
     */
    public String strategy(String name) throws IOException {
        StrategyControl c = control();
        if (!c.available().contains(name)) {
            throw new IllegalArgumentException("no inode-identity strategy named " + name + " (available: "
                    + String.join(", ", c.available()) + ")");
        }
        // At once, with the strategy's own error if it cannot work here (e.g. handle-only without
        // CAP_DAC_READ_SEARCH); then the configuration, so that it names the strategy in use.
        c.select(name);
        ConfigurationAdmin cm = configAdmin;
        if (cm == null) {
            throw new IllegalStateException("no ConfigurationAdmin service");
        }
        Configuration conf = cm.getConfiguration(StrategyControl.PID, "?");
        Dictionary<String, Object> props = conf.getProperties();
        if (props == null) {
            throw new IllegalStateException("the passthrough filesystem has no configuration");
        }
        props.put(StrategyControl.STRATEGY_KEY, name);
        conf.update(props);
        return name;
    }

    /** {@code stats}: one JSON object with the inode, fd, open-file, per-opcode and per-queue figures. */
    public String stats() {
        return figures().json();
    }

    /** {@code convert [MAX]}: gives fd-held inodes the current strategy's identity (see StrategyControl). */
    public String convert() {
        return convert(Long.MAX_VALUE);
    }

    public String convert(long max) {
        if (max < 0) {
            throw new IllegalArgumentException("convert MAX: MAX must not be negative");
        }
        return "converted " + control().convertFdInodes(max);
    }

    /**
     * {@code update BSN}: a new revision of the bundle from its location (its jar, e.g. replaced in a
     * --bundles directory), then a refresh of it and the bundles wired to it, so the old revision's
     * code is gone when this returns. Strategy bundles can be updated with the share mounted: the
     * filesystem converts their inodes before their services go (see the passthrough's unbind).
     */
    public String update(String symbolicName) throws BundleException, InterruptedException {
        Bundle b = bundle(symbolicName);
        java.nio.file.Path jar = jarOf(b.getLocation());
        if (jar != null && !java.nio.file.Files.isReadable(jar)) {
            // Checked first: Felix stops the bundle before it reads the new revision. Inside the
            // sandbox the host's paths are out of reach, so a new revision needs a restart.
            throw new IllegalStateException("update " + symbolicName + ": the daemon cannot read " + jar
                    + " (a sandboxed daemon sees only the shared directory; restart it to load a new revision)");
        }
        long before = b.getLastModified();
        b.update();
        refresh(b);
        // The framework stamps a new revision (OSGi: modified = installed, updated or uninstalled):
        // shown so that an operator, or a test, sees that a new revision really replaced the old one.
        return symbolicName + " updated to " + b.getVersion() + ", " + state(b.getState()) + ", last modified "
                + instant(before) + " -> " + instant(b.getLastModified());
    }

    /** A bundle's last-modified time (milliseconds since the epoch) as an ISO-8601 instant, UTC. */
    static String instant(long millis) {
        return java.time.Instant.ofEpochMilli(millis).toString();
    }

    /** The jar behind a bundle location ("reference:file:..." or "file:..."), else null. */
    static java.nio.file.Path jarOf(String location) {
        String l = location.startsWith("reference:") ? location.substring("reference:".length()) : location;
        if (!l.startsWith("file:")) {
            return null;
        }
        try {
            return java.nio.file.Paths.get(java.net.URI.create(l));
        } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
            return null;
        }
    }

    /**
     * {@code stop BSN}, transient: nothing is written to the framework's storage (which the sandbox
     * has deleted; a daemon's bundles start afresh at every start anyway).
     */
    public String stop(String symbolicName) throws BundleException {
        Bundle b = bundle(symbolicName);
        b.stop(Bundle.STOP_TRANSIENT);
        return symbolicName + " " + state(b.getState());
    }

    /** {@code start BSN}, transient as {@link #stop}. */
    public String start(String symbolicName) throws BundleException {
        Bundle b = bundle(symbolicName);
        b.start(Bundle.START_TRANSIENT);
        return symbolicName + " " + state(b.getState());
    }

    private Bundle bundle(String symbolicName) {
        for (Bundle b : context.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())) {
                if (b.getBundleId() == 0
                        || b.equals(context.getBundle())
                        || "org.apache.felix.gogo.runtime".equals(symbolicName)) {
                    throw new IllegalArgumentException(
                            symbolicName + " serves this command: it cannot be stopped or updated from here");
                }
                return b;
            }
        }
        throw new IllegalArgumentException("no bundle " + symbolicName + " (see: bundles)");
    }

    private void refresh(Bundle b) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        context.getBundle(0).adapt(FrameworkWiring.class).refreshBundles(List.of(b), e -> {
            if (e.getType() == FrameworkEvent.PACKAGES_REFRESHED) {
                done.countDown();
            }
        });
        if (!done.await(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("refresh of " + b.getSymbolicName() + " did not finish in 60 s");
        }
    }

    /**
     * {@code bundles}: id, state, symbolic name, version and last-modified time (when the bundle was
     * installed or last updated) of every bundle, one per line, tab-separated.
     */
    public String bundles() {
        StringBuilder b = new StringBuilder();
        for (Bundle bundle : context.getBundles()) {
            b.append(bundle.getBundleId())
                    .append('\t')
                    .append(state(bundle.getState()))
                    .append('\t')
                    .append(bundle.getSymbolicName())
                    .append('\t')
                    .append(bundle.getVersion())
                    .append('\t')
                    .append(instant(bundle.getLastModified()))
                    .append('\n');
        }
        return b.toString();
    }

    /**
     * {@code profile}: the deployment profile the daemon was started with, then the configuration now
     * in force for every PID the launcher wrote (profile and command line merged), one "PID key=value"
     * per line.
     */
    public String profile() throws IOException {
        ConfigurationAdmin cm = configAdmin;
        if (cm == null) {
            throw new IllegalStateException("no ConfigurationAdmin service");
        }
        Dictionary<String, Object> launcher = properties(cm, LAUNCHER_PID);
        StringBuilder b = new StringBuilder();
        String name = launcher == null ? null : (String) launcher.get(LauncherConfiguration.PROFILE);
        String source = launcher == null ? null : (String) launcher.get(LauncherConfiguration.PROFILE_SOURCE);
        b.append("profile ")
                .append(name == null || name.isEmpty() ? "(none: command line only)" : name)
                .append(source == null || source.isEmpty() ? "" : " (" + source + ")")
                .append('\n');
        List<String> pids = new ArrayList<>();
        Object configured = launcher == null ? null : launcher.get(LauncherConfiguration.PIDS);
        if (configured instanceof String[] names) {
            Collections.addAll(pids, names);
        }
        pids.add(0, LAUNCHER_PID);
        for (String pid : pids) {
            Dictionary<String, Object> p = properties(cm, pid);
            if (p == null) {
                continue;
            }
            Map<String, Object> sorted = new TreeMap<>();
            for (String key : Collections.list(p.keys())) {
                if (!key.equals(Constants.SERVICE_PID)
                        && !key.startsWith("felix.")
                        && !key.equals(LauncherConfiguration.PIDS)) {
                    sorted.put(key, p.get(key));
                }
            }
            for (Map.Entry<String, Object> e : sorted.entrySet()) {
                b.append(pid)
                        .append(' ')
                        .append(e.getKey())
                        .append('=')
                        .append(text(e.getValue()))
                        .append('\n');
            }
        }
        return b.toString();
    }

    private static Dictionary<String, Object> properties(ConfigurationAdmin cm, String pid) throws IOException {
        try {
            Configuration[] c = cm.listConfigurations("(" + Constants.SERVICE_PID + "=" + pid + ")");
            return c == null || c.length == 0 ? null : c[0].getProperties();
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new IllegalArgumentException(pid, e);
        }
    }

    private static String text(Object v) {
        if (v instanceof Object[] values) {
            List<String> parts = new ArrayList<>();
            for (Object o : values) {
                parts.add(String.valueOf(o));
            }
            return "[" + String.join(", ", parts) + "]";
        }
        return String.valueOf(v);
    }

    private StrategyControl control() {
        StrategyControl c = strategies;
        if (c == null) {
            throw new IllegalStateException("the passthrough filesystem is not running");
        }
        return c;
    }

    static String state(int state) {
        switch (state) {
            case Bundle.ACTIVE:
                return "ACTIVE";
            case Bundle.RESOLVED:
                return "RESOLVED";
            case Bundle.INSTALLED:
                return "INSTALLED";
            case Bundle.STARTING:
                return "STARTING";
            case Bundle.STOPPING:
                return "STOPPING";
            default:
                return "UNINSTALLED";
        }
    }

    // ---- for the MXBeans: the same figures ------------------------------------------------

    Figures figures() {
        return Figures.of(inodes, requests, queues);
    }
}
