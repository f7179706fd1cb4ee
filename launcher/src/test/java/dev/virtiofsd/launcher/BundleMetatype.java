package dev.virtiofsd.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

/**
 * The OSGi metatype of built bundles (the {@code OSGI-INF/metatype/*.xml} bnd generates from their
 * {@code @ObjectClassDefinition}s), by designated PID, and the check of what the launcher writes
 * into ConfigAdmin against it.
 */
final class BundleMetatype {
    /** One attribute definition: its id (the configuration key), type, cardinality, default (or null) and description. */
    record Attribute(String id, String type, int cardinality, String defaultValue, String description) {}

    /** PID -> key -> attribute. */
    private final Map<String, Map<String, Attribute>> pids = new TreeMap<>();
    /** PID -> where its metatype was read (for messages). */
    private final Map<String, String> sources = new TreeMap<>();

    /** The metatype of every jar or classes directory in {@code classPath} that has one. */
    static BundleMetatype of(List<Path> classPath) throws IOException {
        BundleMetatype m = new BundleMetatype();
        for (Path entry : classPath) {
            if (Files.isDirectory(entry)) {
                Path dir = entry.resolve("OSGI-INF/metatype");
                if (Files.isDirectory(dir)) {
                    try (Stream<Path> files = Files.list(dir)) {
                        for (Path xml :
                                (Iterable<Path>) files.filter(p -> p.toString().endsWith(".xml"))::iterator) {
                            try (InputStream in = Files.newInputStream(xml)) {
                                m.add(in, xml.toString());
                            }
                        }
                    }
                }
            } else if (entry.toString().endsWith(".jar") && Files.isRegularFile(entry)) {
                try (JarFile jar = new JarFile(entry.toFile())) {
                    for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
                        JarEntry je = e.nextElement();
                        if (je.getName().startsWith("OSGI-INF/metatype/")
                                && je.getName().endsWith(".xml")) {
                            try (InputStream in = jar.getInputStream(je)) {
                                m.add(in, entry.getFileName() + "!/" + je.getName());
                            }
                        }
                    }
                }
            }
        }
        return m;
    }

    /** The metatype of one XML document (tests of the check itself). */
    static BundleMetatype of(InputStream xml) throws IOException {
        BundleMetatype m = new BundleMetatype();
        m.add(xml, "test");
        return m;
    }

    private void add(InputStream xml, String source) throws IOException {
        Document doc;
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            DocumentBuilder b = f.newDocumentBuilder();
            doc = b.parse(xml);
        } catch (ParserConfigurationException | SAXException e) {
            throw new IOException(source + ": " + e.getMessage(), e);
        }
        Map<String, Map<String, Attribute>> ocds = new LinkedHashMap<>();
        NodeList ocdNodes = doc.getElementsByTagName("OCD");
        for (int i = 0; i < ocdNodes.getLength(); i++) {
            Element ocd = (Element) ocdNodes.item(i);
            Map<String, Attribute> ads = new LinkedHashMap<>();
            NodeList adNodes = ocd.getElementsByTagName("AD");
            for (int j = 0; j < adNodes.getLength(); j++) {
                Element ad = (Element) adNodes.item(j);
                String card = ad.getAttribute("cardinality");
                ads.put(
                        ad.getAttribute("id"),
                        new Attribute(
                                ad.getAttribute("id"),
                                ad.getAttribute("type"),
                                card.isEmpty() ? 0 : Integer.parseInt(card),
                                ad.hasAttribute("default") ? ad.getAttribute("default") : null,
                                ad.getAttribute("description")));
            }
            ocds.put(ocd.getAttribute("id"), ads);
        }
        NodeList designates = doc.getElementsByTagName("Designate");
        for (int i = 0; i < designates.getLength(); i++) {
            Element d = (Element) designates.item(i);
            NodeList objects = d.getElementsByTagName("Object");
            if (objects.getLength() == 0) {
                continue;
            }
            String ref = ((Element) objects.item(0)).getAttribute("ocdref");
            Map<String, Attribute> ads = ocds.get(ref);
            if (ads == null) {
                throw new IOException(source + ": Designate " + d.getAttribute("pid") + " names no OCD of the file");
            }
            pids.put(d.getAttribute("pid"), ads);
            sources.put(d.getAttribute("pid"), source);
        }
    }

    /** PID -> key -> attribute, as read. */
    Map<String, Map<String, Attribute>> pids() {
        return Collections.unmodifiableMap(pids);
    }

    /**
     * What is wrong with {@code written} (PID -> key -> value, as the launcher writes it) against this
     * metatype: a PID without metatype, a key that is not an attribute of its PID, a value whose type
     * is not the attribute's. With {@code defaultsOf} (the keys whose value is the command line's
     * default, by PID), also each such value that differs from the attribute's default.
     */
    List<String> problems(Map<String, Map<String, Object>> written, Map<String, List<String>> defaultsOf) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Map<String, Object>> pid : written.entrySet()) {
            Map<String, Attribute> ads = pids.get(pid.getKey());
            if (ads == null) {
                out.add("PID " + pid.getKey() + ": no bundle has metatype for it (found: " + pids.keySet() + ")");
                continue;
            }
            for (Map.Entry<String, Object> kv : pid.getValue().entrySet()) {
                String where = "PID " + pid.getKey() + " key " + kv.getKey();
                Attribute ad = ads.get(kv.getKey());
                if (ad == null) {
                    out.add(where + ": not in the metatype of " + sources.get(pid.getKey()) + " (its keys: "
                            + ads.keySet() + ")");
                    continue;
                }
                String typeProblem = typeProblem(ad, kv.getValue());
                if (typeProblem != null) {
                    out.add(where + ": " + typeProblem);
                    continue;
                }
                List<String> defaults = defaultsOf.getOrDefault(pid.getKey(), List.of());
                if (defaults.contains(kv.getKey()) && ad.defaultValue() != null) {
                    String value = text(kv.getValue());
                    if (!Objects.equals(value, ad.defaultValue())) {
                        out.add(where + ": the command line's default is " + value + ", the metatype's "
                                + ad.defaultValue());
                    }
                }
            }
        }
        return out;
    }

    /** Attributes of {@code pid} without a description. */
    List<String> undescribed(String pid) {
        List<String> out = new ArrayList<>();
        for (Attribute ad : pids.getOrDefault(pid, Map.of()).values()) {
            if (ad.description() == null || ad.description().isBlank()) {
                out.add(pid + " " + ad.id());
            }
        }
        return out;
    }

    private static String typeProblem(Attribute ad, Object value) {
        boolean many = value instanceof String[];
        if (many != (ad.cardinality() != 0)) {
            return many
                    ? "the launcher writes a list, the metatype has a single " + ad.type()
                    : "the launcher writes a single value, the metatype has a list";
        }
        Object one = many ? "" : value;
        String type = switch (one.getClass().getSimpleName()) {
            case "String" -> "String";
            case "Boolean" -> "Boolean";
            case "Integer" -> "Integer";
            case "Long" -> "Long";
            default -> one.getClass().getName();
        };
        return type.equals(ad.type()) ? null : "the launcher writes a " + type + ", the metatype has " + ad.type();
    }

    private static String text(Object value) {
        return value instanceof String[] many ? String.join(",", many) : String.valueOf(value);
    }
}
