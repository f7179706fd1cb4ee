package dev.virtiofsd.launcher;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Computes {@code org.osgi.framework.system.packages.extra} from the jars on the launcher's class
 * path, so that bundles importing {@code jnr.ffi;version="[2.2,3)"} or {@code org.slf4j} resolve
 * against the system bundle. A jar's own Export-Package is used when it has one (only the package
 * names and versions: uses/other directives are dropped); a jar without an OSGi manifest exports
 * every package that holds a class, at the jar's version.
 */
public final class SystemPackages {
    /** The jars shared with bundles: jnr (ffi, posix, unixsocket, constants, enxio, asm), jffi, slf4j. */
    public static final Predicate<String> SHARED_JARS =
            name -> name.startsWith("jnr-") || name.startsWith("jffi-") || name.startsWith("slf4j-api");

    private static final Pattern VERSION_IN_NAME = Pattern.compile("-(\\d+(?:\\.\\d+){0,2})(?:[.-][^/]*)?\\.jar$");
    private static final Pattern OSGI_VERSION = Pattern.compile("\\d+(\\.\\d+(\\.\\d+(\\.[A-Za-z0-9_-]+)?)?)?");

    private SystemPackages() {}

    /** The launcher's class path: java.class.path, following manifest Class-Path (surefire's booter jar). */
    public static List<Path> classPath() {
        Set<Path> out = new LinkedHashSet<>();
        for (String entry : System.getProperty("java.class.path", "").split(File.pathSeparator, -1)) {
            if (!entry.isEmpty()) {
                addWithManifestClassPath(Paths.get(entry).toAbsolutePath().normalize(), out);
            }
        }
        return new ArrayList<>(out);
    }

    private static void addWithManifestClassPath(Path jar, Set<Path> out) {
        if (!out.add(jar) || !Files.isRegularFile(jar)) {
            return;
        }
        try (JarFile jf = new JarFile(jar.toFile())) {
            Manifest mf = jf.getManifest();
            String cp = mf == null ? null : mf.getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
            if (cp == null) {
                return;
            }
            URI base = jar.getParent().toUri();
            for (String ref : cp.trim().split("\\s+", -1)) {
                if (ref.isEmpty()) {
                    continue;
                }
                try {
                    addWithManifestClassPath(Paths.get(base.resolve(ref)).normalize(), out);
                } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
                    // not a file: URL, nothing to export from it
                }
            }
        } catch (IOException e) {
            // not a jar (a classes directory): nothing to follow
        }
    }

    /** The header value for the jars of {@code classPath} whose file name passes {@code filter}. */
    public static String compute(List<Path> classPath, Predicate<String> filter) throws IOException {
        Map<String, String> packages = new LinkedHashMap<>();
        for (Path jar : classPath) {
            if (!Files.isRegularFile(jar) || !filter.test(jar.getFileName().toString())) {
                continue;
            }
            for (Map.Entry<String, String> e : exports(jar).entrySet()) {
                packages.putIfAbsent(e.getKey(), e.getValue());
            }
        }
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, String> e : packages.entrySet()) {
            if (b.length() > 0) {
                b.append(',');
            }
            b.append(e.getKey());
            if (e.getValue() != null) {
                b.append(";version=\"").append(e.getValue()).append('"');
            }
        }
        return b.toString();
    }

    /** Package name -> version (or null) that {@code jar} offers. */
    static Map<String, String> exports(Path jar) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        try (JarFile jf = new JarFile(jar.toFile())) {
            Manifest mf = jf.getManifest();
            String header = mf == null ? null : mf.getMainAttributes().getValue("Export-Package");
            if (header != null && !header.isBlank()) {
                parseExportPackage(header, out);
                return out;
            }
            String version = jarVersion(jf, mf, jar.getFileName().toString());
            Set<String> names = new TreeSet<>();
            for (Enumeration<JarEntry> en = jf.entries(); en.hasMoreElements(); ) {
                String n = en.nextElement().getName();
                int slash = n.lastIndexOf('/');
                if (n.endsWith(".class") && slash > 0 && !n.startsWith("META-INF/")) {
                    names.add(n.substring(0, slash).replace('/', '.'));
                }
            }
            for (String p : names) {
                out.put(p, version);
            }
        }
        return out;
    }

    /** Parses an Export-Package header: clauses split on commas outside quotes. */
    static void parseExportPackage(String header, Map<String, String> out) {
        for (String clause : split(header, ',')) {
            List<String> parts = split(clause, ';');
            List<String> names = new ArrayList<>();
            String version = null;
            for (String part : parts) {
                String p = part.trim();
                int eq = p.indexOf('=');
                if (eq < 0) {
                    if (!p.isEmpty()) {
                        names.add(p);
                    }
                } else if (p.charAt(eq - 1) != ':' && p.substring(0, eq).trim().equals("version")) {
                    version = unquote(p.substring(eq + 1).trim());
                }
            }
            for (String n : names) {
                out.putIfAbsent(n, version);
            }
        }
    }

    private static List<String> split(String s, char sep) {
        List<String> out = new ArrayList<>();
        boolean quoted = false;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            } else if (c == sep && !quoted) {
                out.add(s.substring(start, i));
                start = i + 1;
            }
        }
        out.add(s.substring(start));
        return out;
    }

    private static String unquote(String v) {
        return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
    }

    private static String jarVersion(JarFile jf, Manifest mf, String fileName) throws IOException {
        String v = null;
        if (mf != null) {
            v = mf.getMainAttributes().getValue("Bundle-Version");
            if (v == null) {
                v = mf.getMainAttributes().getValue(Attributes.Name.IMPLEMENTATION_VERSION);
            }
        }
        if (v == null) {
            for (Enumeration<JarEntry> en = jf.entries(); en.hasMoreElements() && v == null; ) {
                JarEntry e = en.nextElement();
                if (e.getName().startsWith("META-INF/maven/") && e.getName().endsWith("/pom.properties")) {
                    Properties p = new Properties();
                    try (InputStream in = jf.getInputStream(e)) {
                        p.load(in);
                    }
                    v = p.getProperty("version");
                }
            }
        }
        if (v == null) {
            Matcher m = VERSION_IN_NAME.matcher(fileName);
            v = m.find() ? m.group(1) : null;
        }
        return v == null ? null : osgiVersion(v);
    }

    /** "1.3.13" stays, "2.0-SNAPSHOT" becomes "2.0.0.SNAPSHOT"; anything else falls back to its numeric prefix. */
    static String osgiVersion(String v) {
        if (OSGI_VERSION.matcher(v).matches()) {
            return v;
        }
        Matcher m = Pattern.compile("^(\\d+)(?:\\.(\\d+))?(?:\\.(\\d+))?[.-]?([A-Za-z0-9_-]*)")
                .matcher(v);
        if (!m.find()) {
            return null;
        }
        String out = m.group(1) + "." + (m.group(2) == null ? "0" : m.group(2)) + "."
                + (m.group(3) == null ? "0" : m.group(3));
        return m.group(4).isEmpty() ? out : out + "." + m.group(4);
    }
}
