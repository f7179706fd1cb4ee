package dev.virtiofsd.launcher;

import dev.virtiofsd.api.config.LauncherConfiguration;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.felix.cm.json.io.ConfigurationResource;
import org.apache.felix.cm.json.io.Configurations;

/**
 * A deployment profile ({@code --profile NAME|FILE}): an OSGi Configurator JSON resource (the format
 * of the OSGi Configurator specification, read with Apache Felix's {@code cm.json} reader, the one
 * the Felix Configurator uses: comments, type hints such as {@code "threads:Integer": 2}) holding
 * configurations by PID, for our bundles and for third-party ones alike.
 *
 * <p>PID {@value #LAUNCHER_PID} configures the launcher itself: {@code transport}
 * (vhost-user|fuse-dev) and {@code bundles.exclude} (symbolic names of distribution bundles not to
 * install, the "bundle set"). Every other PID is handed to ConfigAdmin, with the command line's
 * options on top (see {@link Main#configurations}).
 *
 * <p>NAME is a file {@code conf/profiles/NAME.json} of the distribution; anything with a '/' or
 * ending in {@code .json} is a file path.
 */
public final class Profile {
    public static final String LAUNCHER_PID = LauncherConfiguration.PID;
    static final String DIR = "conf/profiles";

    private final String name;
    private final Path source;
    private final Map<String, Hashtable<String, Object>> configurations;

    private Profile(String name, Path source, Map<String, Hashtable<String, Object>> configurations) {
        this.name = name;
        this.source = source;
        this.configurations = configurations;
    }

    /** Finds and reads the profile {@code arg} names; a one-line {@link UsageException} when it cannot. */
    public static Profile load(String arg, Path home) throws UsageException {
        Path file;
        String name;
        if (arg.contains("/") || arg.endsWith(".json")) {
            file = Paths.get(arg);
            String f = file.getFileName().toString();
            name = f.endsWith(".json") ? f.substring(0, f.length() - 5) : f;
            if (!Files.isRegularFile(file)) {
                throw CommandLine.invalid("--profile " + arg + ": no such file");
            }
        } else {
            name = arg;
            file = home == null ? null : home.resolve(DIR).resolve(arg + ".json");
            if (file == null || !Files.isRegularFile(file)) {
                throw CommandLine.invalid("--profile " + arg + ": no profile named " + arg
                        + (home == null
                                ? ""
                                : " in " + home.resolve(DIR) + " (there: " + String.join(", ", shipped(home)) + ")")
                        + "; give a file path for a profile of your own");
            }
        }
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            ConfigurationResource res = Configurations.buildReader()
                    .withIdentifier(file.toString())
                    .build(r)
                    .readConfigurationResource();
            Map<String, Hashtable<String, Object>> configs = new LinkedHashMap<>(res.getConfigurations());
            return new Profile(name, file.toAbsolutePath().normalize(), configs);
        } catch (IOException | RuntimeException e) {
            String m = String.valueOf(e.getMessage())
                    .replaceAll("\\s*\\R\\s*", " ")
                    .trim();
            throw CommandLine.invalid(
                    "--profile " + arg + ": " + file + " is not a valid OSGi Configurator JSON resource: " + m);
        }
    }

    /** Names of the profiles shipped in {@code home/conf/profiles}. */
    public static List<String> shipped(Path home) {
        Set<String> names = new TreeSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(home.resolve(DIR), "*.json")) {
            for (Path p : ds) {
                String f = p.getFileName().toString();
                names.add(f.substring(0, f.length() - 5));
            }
        } catch (IOException e) {
            return List.of();
        }
        return new ArrayList<>(names);
    }

    public String name() {
        return name;
    }

    public Path source() {
        return source;
    }

    /** Configurations by PID, the launcher's own excluded. */
    public Map<String, Hashtable<String, Object>> configurations() {
        Map<String, Hashtable<String, Object>> m = new LinkedHashMap<>(configurations);
        m.remove(LAUNCHER_PID);
        return Collections.unmodifiableMap(m);
    }

    /** A key of the launcher's own section, or null. */
    public Object launcher(String key) {
        Hashtable<String, Object> l = configurations.get(LAUNCHER_PID);
        return l == null ? null : l.get(key);
    }

    /** {@code bundles.exclude}: symbolic names of distribution bundles this profile does not install. */
    public Set<String> excludedBundles() throws UsageException {
        Object v = launcher(LauncherConfiguration.BUNDLES_EXCLUDE);
        Set<String> out = new TreeSet<>();
        if (v == null) {
            return out;
        }
        if (v instanceof String one) {
            out.add(one);
        } else if (v instanceof String[] many) {
            Collections.addAll(out, many);
        } else if (v instanceof java.util.Collection<?> list) {
            for (Object o : list) {
                out.add(String.valueOf(o));
            }
        } else {
            throw CommandLine.invalid(
                    "--profile " + name + ": " + LAUNCHER_PID + " bundles.exclude must be a list of names");
        }
        return out;
    }

    @Override
    public String toString() {
        return name + " (" + source + ")";
    }
}
