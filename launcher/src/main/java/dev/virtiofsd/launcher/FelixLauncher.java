package dev.virtiofsd.launcher;

import java.io.IOException;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;
import org.osgi.framework.wiring.BundleRevision;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Boots Apache Felix with the distribution's bundles: a fresh storage directory (deleted on
 * {@link #close()}), jnr/jffi/slf4j exported from the class path, every jar of the bundle
 * directories installed and started, and a DaemonControl service whose interface is the api
 * bundle's. Used by {@link Main} and, programmatically, by the framework integration tests.
 */
public final class FelixLauncher implements AutoCloseable {
    public static final String API_BUNDLE = "dev.virtiofsd.api";
    public static final String DAEMON_CONTROL = "dev.virtiofsd.api.transport.DaemonControl";
    public static final String CONFIGURATION_ADMIN = "org.osgi.service.cm.ConfigurationAdmin";
    public static final String SCR = "org.osgi.service.component.runtime.ServiceComponentRuntime";

    private static final Logger LOG = LoggerFactory.getLogger(FelixLauncher.class);

    private final List<Path> bundleDirs;
    private final Map<String, String> extraProperties;
    private final DaemonEvents events;
    private final Set<String> configuredPids = new LinkedHashSet<>();
    private Set<String> excludedBundles = Set.of();
    private final List<Bundle> bundles = new ArrayList<>();
    private Path storage;
    private boolean confined;
    private Framework framework;
    private ServiceRegistration<?> daemonControl;

    /**
     * @param bundleDirs directories whose *.jar are installed, in order (the distribution's
     *                   bundles/ first, then --bundles DIRs)
     * @param extraProperties framework properties added to (and overriding) the computed ones
     * @param events receives ready/stop calls of the DaemonControl service
     */
    public FelixLauncher(List<Path> bundleDirs, Map<String, String> extraProperties, DaemonEvents events) {
        this.bundleDirs = List.copyOf(bundleDirs);
        this.extraProperties = Map.copyOf(extraProperties);
        this.events = events;
    }

    /** Symbolic names of bundles not to install from the bundle directories (a profile's bundle set). */
    public void excludeBundles(Set<String> symbolicNames) {
        this.excludedBundles = Set.copyOf(symbolicNames);
    }

    private static String symbolicName(Path jar) {
        try (java.util.jar.JarFile j = new java.util.jar.JarFile(jar.toFile())) {
            java.util.jar.Manifest m = j.getManifest();
            String bsn = m == null ? null : m.getMainAttributes().getValue(Constants.BUNDLE_SYMBOLICNAME);
            return bsn == null ? "" : bsn.split(";", 2)[0].trim();
        } catch (IOException e) {
            return "";
        }
    }

    /** The framework properties this launcher uses (storage aside). */
    public static Map<String, String> frameworkProperties() throws IOException {
        return frameworkProperties(true);
    }

    private static Map<String, String> frameworkProperties(boolean systemPackages) throws IOException {
        Map<String, String> p = new HashMap<>();
        if (systemPackages) {
            p.put(
                    Constants.FRAMEWORK_SYSTEMPACKAGES_EXTRA,
                    SystemPackages.compute(SystemPackages.classPath(), SystemPackages.SHARED_JARS));
        }
        p.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        // Felix SCR prints to stdout when it has no LogService: errors only, the launcher reports the rest.
        p.put("ds.loglevel", "error");
        // Configurations live for one run: kept in memory, never written to the storage (which the
        // sandbox takes out of reach); bundle jars stay open for the whole run (class loading
        // inside the sandbox reads them through their fds).
        p.put("felix.cm.pm", "memory");
        p.put("felix.cache.filelimit", "0");
        return p;
    }

    /**
     * Initialises the framework, installs every bundle, registers DaemonControl and starts the
     * bundles. A bundle that does not start is fatal: {@link LaunchException} with one line.
     */
    public void start() throws LaunchException {
        try {
            storage = Files.createTempDirectory("virtiofsd-java-felix-");
            // The class path scan is skipped when the caller already did it (Main, in the background).
            Map<String, Object> config = new HashMap<>(
                    frameworkProperties(!extraProperties.containsKey(Constants.FRAMEWORK_SYSTEMPACKAGES_EXTRA)));
            config.putAll(extraProperties);
            config.put(Constants.FRAMEWORK_STORAGE, storage.toString());
            config.put("felix.log.logger", new FelixLogBridge());
            config.put("felix.log.level", FelixLogBridge.felixLevel());
            FrameworkFactory factory = ServiceLoader.load(FrameworkFactory.class, FelixLauncher.class.getClassLoader())
                    .findFirst()
                    .orElseThrow(() -> new LaunchException("no OSGi framework on the class path"));
            @SuppressWarnings({"unchecked", "rawtypes"})
            Map<String, String> stringly = (Map) config;
            StartupTrace.mark("framework properties");
            framework = factory.newFramework(stringly);
            framework.init();
            StartupTrace.mark("framework initialised");
            BundleContext ctx = framework.getBundleContext();
            for (Path dir : bundleDirs) {
                for (Path jar : jars(dir)) {
                    if (!excludedBundles.isEmpty() && excludedBundles.contains(symbolicName(jar))) {
                        continue;
                    }
                    try {
                        // reference: Felix reads the jar in place instead of copying it into the storage.
                        bundles.add(ctx.installBundle("reference:" + jar.toUri()));
                    } catch (BundleException e) {
                        throw new LaunchException("bundle " + jar + " cannot be installed: " + oneLine(e.getMessage()));
                    }
                }
            }
            StartupTrace.mark("bundles installed");
            framework.start();
            StartupTrace.mark("framework started");
            registerDaemonControl(ctx);
            for (Bundle b : bundles) {
                if ((b.adapt(BundleRevision.class).getTypes() & BundleRevision.TYPE_FRAGMENT) != 0) {
                    continue;
                }
                try {
                    b.start();
                    StartupTrace.mark("started " + b.getSymbolicName());
                } catch (BundleException e) {
                    throw new LaunchException(
                            "bundle " + b.getSymbolicName() + " failed to start: " + oneLine(e.getMessage()));
                }
            }
        } catch (IOException | BundleException e) {
            throw new LaunchException("cannot start the OSGi framework: " + oneLine(String.valueOf(e.getMessage())));
        }
    }

    private static List<Path> jars(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.jar")) {
            ds.forEach(out::add);
        }
        out.sort(Comparator.comparing(p -> p.getFileName().toString()));
        return out;
    }

    private void registerDaemonControl(BundleContext ctx) throws LaunchException {
        Bundle api = bundle(API_BUNDLE);
        if (api == null) {
            throw new LaunchException("bundle " + API_BUNDLE + " is not installed (missing from bundles/?)");
        }
        Class<?> iface;
        try {
            iface = api.loadClass(DAEMON_CONTROL);
        } catch (ClassNotFoundException e) {
            throw new LaunchException(
                    "bundle " + API_BUNDLE + " has no " + DAEMON_CONTROL + ": " + oneLine(e.getMessage()));
        }
        InvocationHandler handler = (proxy, method, args) -> {
            switch (method.getName()) {
                case "stop":
                    events.stop((Integer) args[0], (String) args[1]);
                    return null;
                case "ready":
                    events.ready((String) args[0]);
                    return null;
                case "equals":
                    return proxy == args[0];
                case "hashCode":
                    return System.identityHashCode(proxy);
                case "toString":
                    return "DaemonControl(launcher)";
                default:
                    throw new UnsupportedOperationException(method.getName());
            }
        };
        Object proxy = Proxy.newProxyInstance(iface.getClassLoader(), new Class<?>[] {iface}, handler);
        @SuppressWarnings("JdkObsolete") // registerService takes a Dictionary; Hashtable is the one at hand
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Constants.SERVICE_DESCRIPTION, "virtiofsd-java launcher");
        daemonControl = ctx.registerService(iface.getName(), proxy, props);
    }

    public Framework framework() {
        return framework;
    }

    public BundleContext context() {
        return framework.getBundleContext();
    }

    /** The bundles installed from the bundle directories, in install order. */
    public List<Bundle> bundles() {
        return List.copyOf(bundles);
    }

    /** The installed bundle with this symbolic name, or null. */
    public Bundle bundle(String symbolicName) {
        for (Bundle b : bundles) {
            if (symbolicName.equals(b.getSymbolicName())) {
                return b;
            }
        }
        return null;
    }

    /**
     * Creates or updates the configuration {@code pid} through ConfigAdmin, with location "?" so
     * whichever bundle holds the component binds it. Reflective: the cm API lives in a bundle.
     */
    public void configure(String pid, Map<String, ?> properties) throws LaunchException {
        try {
            Object configuration = configuration(pid);
            Class<?> cfg = loadFromService(CONFIGURATION_ADMIN, "org.osgi.service.cm.Configuration");
            @SuppressWarnings("JdkObsolete") // Configuration.update takes a Dictionary
            Dictionary<String, Object> dict = new Hashtable<>(properties);
            cfg.getMethod("update", Dictionary.class).invoke(configuration, dict);
            configuredPids.add(pid);
        } catch (ReflectiveOperationException e) {
            throw new LaunchException("cannot configure " + pid + ": "
                    + oneLine(String.valueOf(rootCause(e).getMessage())));
        }
    }

    /** Deletes the configuration {@code pid} (its component deactivates). */
    public void deleteConfiguration(String pid) throws LaunchException {
        try {
            Object configuration = configuration(pid);
            loadFromService(CONFIGURATION_ADMIN, "org.osgi.service.cm.Configuration")
                    .getMethod("delete")
                    .invoke(configuration);
            configuredPids.remove(pid);
        } catch (ReflectiveOperationException e) {
            throw new LaunchException("cannot delete " + pid + ": "
                    + oneLine(String.valueOf(rootCause(e).getMessage())));
        }
    }

    private Object configuration(String pid) throws ReflectiveOperationException, LaunchException {
        ServiceReference<?> ref = awaitService(CONFIGURATION_ADMIN, null, 5000);
        if (ref == null) {
            throw new LaunchException(
                    "no ConfigurationAdmin service (org.apache.felix.configadmin missing from bundles/?)");
        }
        Object admin = context().getService(ref);
        Class<?> iface = ref.getBundle().loadClass(CONFIGURATION_ADMIN);
        return iface.getMethod("getConfiguration", String.class, String.class).invoke(admin, pid, "?");
    }

    private Class<?> loadFromService(String serviceClass, String className) throws ClassNotFoundException {
        return awaitService(serviceClass, null, 0).getBundle().loadClass(className);
    }

    /** Waits up to {@code millis} for a service of {@code objectClass} matching {@code filter} (may be null). */
    public ServiceReference<?> awaitService(String objectClass, String filter, long millis) {
        long deadline = System.currentTimeMillis() + millis;
        while (true) {
            try {
                // All references: the launcher talks to services reflectively, so whether its own
                // class path has the API (it does in tests) must not hide them.
                ServiceReference<?>[] refs = context().getAllServiceReferences(objectClass, filter);
                if (refs != null && refs.length > 0) {
                    return refs[0];
                }
            } catch (InvalidSyntaxException e) {
                throw new IllegalArgumentException(filter, e);
            }
            if (System.currentTimeMillis() >= deadline) {
                return null;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
    }

    /**
     * One line naming what keeps the daemon from serving: bundles that are not active, then
     * components that failed to activate (with their reason), then components missing a service
     * or a configuration that was given. Empty when nothing is wrong.
     */
    public String diagnose() {
        List<String> failed = new ArrayList<>();
        List<String> unsatisfied = new ArrayList<>();
        // Components waiting for a service that another stuck component would provide are
        // consequences: they are counted, not listed, so the line starts with the cause.
        List<String[]> waiting = new ArrayList<>(); // {text, missing interfaces joined by ' '}
        Set<String> stuckProvides = new java.util.HashSet<>();
        for (Bundle b : bundles) {
            boolean fragment = (b.adapt(BundleRevision.class).getTypes() & BundleRevision.TYPE_FRAGMENT) != 0;
            if (!fragment && b.getState() != Bundle.ACTIVE) {
                failed.add("bundle " + b.getSymbolicName() + " is not active");
            }
        }
        ServiceReference<?> ref = awaitService(SCR, null, 0);
        if (ref == null) {
            failed.add("no Declarative Services runtime (org.apache.felix.scr missing from bundles/?)");
            return String.join("; ", failed);
        }
        Object scr = context().getService(ref);
        try {
            Class<?> iface = ref.getBundle().loadClass(SCR);
            Class<?> descClass =
                    ref.getBundle().loadClass("org.osgi.service.component.runtime.dto.ComponentDescriptionDTO");
            Method descriptions = iface.getMethod("getComponentDescriptionDTOs", Bundle[].class);
            Method configurations = iface.getMethod("getComponentConfigurationDTOs", descClass);
            for (Object desc : (Collection<?>) descriptions.invoke(scr, (Object) new Bundle[0])) {
                String name = (String) field(desc, "name");
                String[] pids = (String[]) field(desc, "configurationPid");
                String policy = (String) field(desc, "configurationPolicy");
                Collection<?> configs = (Collection<?>) configurations.invoke(scr, desc);
                boolean configured = pids != null && Stream.of(pids).anyMatch(configuredPids::contains);
                if (configs.isEmpty() && configured) {
                    unsatisfied.add(name + " is not enabled or has no configuration");
                }
                for (Object c : configs) {
                    int state = (Integer) field(c, "state");
                    if (state == 16 || state == 2) {
                        stuckProvides.addAll(Arrays.asList((String[]) field(desc, "serviceInterfaces")));
                    }
                    if (state == 16) { // FAILED_ACTIVATION
                        failed.add(name + " failed: " + failureReason((String) field(c, "failure")));
                    } else if (state == 2) { // UNSATISFIED_REFERENCE
                        waiting.add(new String[] {
                            name + " is missing " + missingReferences(desc, c),
                            String.join(" ", missingInterfaces(desc, c))
                        });
                    } else if (state == 1 && configured && "require".equals(policy)) { // UNSATISFIED_CONFIGURATION
                        unsatisfied.add(name + " has not received its configuration");
                    }
                }
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            failed.add("cannot read component states: " + oneLine(String.valueOf(rootCause(e))));
        } finally {
            context().ungetService(ref);
        }
        int consequences = 0;
        for (String[] w : waiting) {
            if (Arrays.stream(w[1].split(" ")).allMatch(stuckProvides::contains)) {
                consequences++;
            } else {
                failed.add(w[0]);
            }
        }
        failed.addAll(unsatisfied);
        if (consequences > 0) {
            failed.add(consequences + (consequences == 1 ? " component waits" : " components wait") + " on that");
        }
        return String.join("; ", failed);
    }

    /** Reference name -> interface name of a component description (SCR DTOs, read reflectively). */
    private static Map<String, String> referenceInterfaces(Object desc) throws ReflectiveOperationException {
        Map<String, String> interfaces = new HashMap<>();
        Object refs = field(desc, "references");
        for (int i = 0; refs != null && i < Array.getLength(refs); i++) {
            Object r = Array.get(refs, i);
            interfaces.put((String) field(r, "name"), (String) field(r, "interfaceName"));
        }
        return interfaces;
    }

    private static String missingReferences(Object desc, Object config) throws ReflectiveOperationException {
        Map<String, String> interfaces = referenceInterfaces(desc);
        List<String> out = new ArrayList<>();
        Object unsatisfied = field(config, "unsatisfiedReferences");
        for (int i = 0; unsatisfied != null && i < Array.getLength(unsatisfied); i++) {
            Object u = Array.get(unsatisfied, i);
            String refName = (String) field(u, "name");
            String iface = interfaces.getOrDefault(refName, refName);
            String simple = iface.substring(iface.lastIndexOf('.') + 1);
            String target = (String) field(u, "target");
            out.add(simple + (target == null || target.isEmpty() ? "" : " " + target));
        }
        return out.isEmpty() ? "a service" : String.join(", ", out);
    }

    private static List<String> missingInterfaces(Object desc, Object config) throws ReflectiveOperationException {
        Map<String, String> interfaces = referenceInterfaces(desc);
        List<String> out = new ArrayList<>();
        Object unsatisfied = field(config, "unsatisfiedReferences");
        for (int i = 0; unsatisfied != null && i < Array.getLength(unsatisfied); i++) {
            String refName = (String) field(Array.get(unsatisfied, i), "name");
            out.add(interfaces.getOrDefault(refName, refName));
        }
        return out;
    }

    /** The message of the innermost cause in a DS failure text (a stack trace), without its class name. */
    static String failureReason(String failure) {
        if (failure == null || failure.isBlank()) {
            return "unknown reason";
        }
        String line = failure.lines().findFirst().orElse("").trim();
        for (String l : (Iterable<String>) failure.lines()::iterator) {
            String t = l.trim();
            if (t.startsWith("Caused by: ")) {
                line = t.substring("Caused by: ".length());
            }
        }
        return line.replaceFirst("^([\\w$]+\\.)*[\\w$]*(Exception|Error)(: )?", "")
                .trim();
    }

    private static Object field(Object dto, String name) throws ReflectiveOperationException {
        Field f = dto.getClass().getField(name);
        return f.get(dto);
    }

    private static Throwable rootCause(Throwable t) {
        while (t instanceof InvocationTargetException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s*\\R\\s*", " ").trim();
    }

    /** Stops the framework (components deactivate: transports remove sockets, unmount), deletes the storage. */
    @Override
    public void close() {
        if (framework != null) {
            try {
                if (daemonControl != null) {
                    try {
                        daemonControl.unregister();
                    } catch (IllegalStateException e) {
                        // already gone with the framework
                    }
                    daemonControl = null;
                }
                framework.stop();
                framework.waitForStop(30_000);
            } catch (BundleException | InterruptedException | IllegalStateException e) {
                LOG.warn("stopping the framework: {}", e.toString());
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
            }
            framework = null;
        }
        if (storage != null && !confined) {
            deleteTree(storage);
        }
        storage = null;
    }

    static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort: a temp dir
                }
            });
        } catch (IOException e) {
            // best effort
        }
    }

    /**
     * Deletes the storage directory now, while the framework runs, because the sandbox is about
     * to take its path out of reach (inside the sandbox that path would name a place in the
     * shared directory). The framework needs it only to start: bundles are referenced in place,
     * configurations are kept in memory. {@link #close()} then leaves the path alone.
     */
    public void releaseStorage() {
        if (storage != null) {
            deleteTree(storage);
            confined = true;
        }
    }

    /** Where the framework keeps its state (for tests). */
    public Path storage() {
        return storage;
    }

    /** A start-up problem, with one line for the user. */
    public static final class LaunchException extends Exception {
        private static final long serialVersionUID = 1L;

        public LaunchException(String message) {
            super(message, null, false, false);
        }
    }
}
