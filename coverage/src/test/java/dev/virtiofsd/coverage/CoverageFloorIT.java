package dev.virtiofsd.coverage;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The per-bundle coverage floor: reads the aggregate JaCoCo report (unit, integration and daemon
 * process tests together) and fails the build when a bundle's line or branch coverage is below
 * the floor named for it in coverage/pom.xml. Every module in the report needs a floor.
 */
class CoverageFloorIT {
    private static final Path CSV =
            Path.of(System.getProperty("coverage.csv", "target/site/jacoco-aggregate/jacoco.csv"));

    /** Covered and missed lines and branches of one module. */
    private static final class Counts {
        long lineMissed;
        long lineCovered;
        long branchMissed;
        long branchCovered;

        static double ratio(long covered, long missed) {
            return covered + missed == 0 ? 1.0 : (double) covered / (covered + missed);
        }
    }

    @Test
    void everyBundleMeetsItsFloor() throws IOException {
        Map<String, Counts> modules = read(CSV);
        Map<String, double[]> floors = floors(System.getProperty("coverage.floors", ""));
        List<String> failures = new ArrayList<>();
        StringBuilder table = new StringBuilder("coverage per module (lines, branches) against the floor:\n");
        modules.forEach((module, c) -> {
            double line = Counts.ratio(c.lineCovered, c.lineMissed);
            double branch = Counts.ratio(c.branchCovered, c.branchMissed);
            double[] floor = floors.get(module);
            table.append(String.format(
                    Locale.ROOT,
                    "  %-24s lines %5.1f%%  branches %5.1f%%  floor %s%n",
                    module,
                    100 * line,
                    100 * branch,
                    floor == null
                            ? "none"
                            : String.format(Locale.ROOT, "%.0f%% / %.0f%%", 100 * floor[0], 100 * floor[1])));
            if (floor == null) {
                failures.add(module + " has no coverage floor in coverage/pom.xml (coverage.floors)");
            } else {
                if (line < floor[0]) {
                    failures.add(String.format(
                            Locale.ROOT,
                            "%s: line coverage %.1f%% is below its floor %.0f%%",
                            module,
                            100 * line,
                            100 * floor[0]));
                }
                if (branch < floor[1]) {
                    failures.add(String.format(
                            Locale.ROOT,
                            "%s: branch coverage %.1f%% is below its floor %.0f%%",
                            module,
                            100 * branch,
                            100 * floor[1]));
                }
            }
        });
        System.out.print(table);
        assertTrue(failures.isEmpty(), String.join("; ", failures));
    }

    private static Map<String, Counts> read(Path csv) throws IOException {
        assertTrue(Files.isRegularFile(csv), csv + " is missing: the aggregate report was not written");
        Map<String, Counts> modules = new TreeMap<>();
        List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        // GROUP,PACKAGE,CLASS,INSTRUCTION_MISSED,INSTRUCTION_COVERED,BRANCH_MISSED,BRANCH_COVERED,
        // LINE_MISSED,LINE_COVERED,COMPLEXITY_MISSED,COMPLEXITY_COVERED,METHOD_MISSED,METHOD_COVERED
        for (String row : lines.subList(1, lines.size())) {
            String[] f = row.split(",", -1);
            String group = f[0];
            String module = group.substring(group.lastIndexOf('/') + 1);
            Counts c = modules.computeIfAbsent(module, m -> new Counts());
            c.branchMissed += Long.parseLong(f[5]);
            c.branchCovered += Long.parseLong(f[6]);
            c.lineMissed += Long.parseLong(f[7]);
            c.lineCovered += Long.parseLong(f[8]);
        }
        assertTrue(!modules.isEmpty(), csv + " lists no classes");
        return modules;
    }

    /** "module line% branch%" entries, one per line. */
    private static Map<String, double[]> floors(String spec) {
        Map<String, double[]> floors = new TreeMap<>();
        for (String entry : spec.strip().split("\\s*\\n\\s*", -1)) {
            if (entry.isBlank()) {
                continue;
            }
            String[] f = entry.strip().split("\\s+", -1);
            floors.put(f[0], new double[] {Double.parseDouble(f[1]) / 100, Double.parseDouble(f[2]) / 100});
        }
        return floors;
    }
}
