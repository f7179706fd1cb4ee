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
    void measuredFiguresKeepTheirUnit() {
        assertEquals(51L, Report.inodeCell(Map.of("fds", 51L), "fds", 1));
        assertEquals(Report.fmt(2.0), Report.inodeCell(Map.of("rss_kib", 2048L), "rss_kib", 1024));
    }
}
