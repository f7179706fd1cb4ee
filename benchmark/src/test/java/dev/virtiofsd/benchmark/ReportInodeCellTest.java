package dev.virtiofsd.benchmark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The inode table of the report says "not run" for a skipped part instead of printing -1 figures. */
class ReportInodeCellTest {

    @Test
    void aSkippedPartIsNotRunNotMinusOne() {
        assertEquals("not run", Report.inodeCell(Map.of(), "fds", 1));
        assertEquals("not run", Report.inodeCell(Map.of("fds", 51L), "rss_kib", 1024));
    }

    @Test
    void withoutTheInodePartThereIsNoFdPercentage() {
        Benchmark.Results r = new Benchmark.Results(new Benchmark.Settings());
        assertEquals(Double.NaN, Report.fdPercent(r));
        r.inodes.put("peer-never", Map.of("fds", 1000L));
        r.inodes.put("ours-handle-preferred", Map.of("fds", 5L));
        assertEquals(0.5, Report.fdPercent(r), 1e-9);
    }

    @Test
    void measuredFiguresKeepTheirUnit() {
        assertEquals(51L, Report.inodeCell(Map.of("fds", 51L), "fds", 1));
        assertEquals(Report.fmt(2.0), Report.inodeCell(Map.of("rss_kib", 2048L), "rss_kib", 1024));
    }
}
