package dev.virtiofsd.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The in-code logging setup stands for the shipped XML files only while they say the same. */
class StockLoggingTest {
    @TempDir
    Path tmp;

    private static byte[] resource(String name) throws Exception {
        try (InputStream in = StockLogging.class.getResourceAsStream(name)) {
            return in.readAllBytes();
        }
    }

    @Test
    void stockCopyIsTheDistributionsConfFile() throws Exception {
        Path dist = Paths.get("../distribution/src/main/dist/conf/logback.xml");
        assertTrue(Files.isRegularFile(dist), dist.toAbsolutePath().toString());
        assertArrayEquals(Files.readAllBytes(dist), resource("logback-stock.xml"));
        assertTrue(StockLogging.isStock(dist));
    }

    @Test
    void patternsAreTheFilesPatterns() throws Exception {
        String stock = new String(resource("logback-stock.xml"), StandardCharsets.UTF_8);
        String fallback = new String(resource("logback-default.xml"), StandardCharsets.UTF_8);
        assertTrue(stock.contains("<pattern>" + StockLogging.STOCK_PATTERN + "</pattern>"), stock);
        assertTrue(fallback.contains("<pattern>" + StockLogging.DEFAULT_PATTERN + "</pattern>"), fallback);
        for (String xml : new String[] {stock, fallback}) {
            assertTrue(xml.contains("<target>System.err</target>") && xml.contains("<root level=\"INFO\">"), xml);
            assertFalse(xml.contains("<logger") || xml.contains("<include"), xml);
        }
    }

    @Test
    void anEditedFileIsNotStock() throws Exception {
        Path conf = tmp.resolve("logback.xml");
        Files.write(
                conf,
                new String(resource("logback-stock.xml"), StandardCharsets.UTF_8)
                        .replace("INFO", "DEBUG")
                        .getBytes(StandardCharsets.UTF_8));
        assertFalse(StockLogging.isStock(conf));
        assertFalse(StockLogging.isStock(tmp.resolve("missing.xml")));
    }
}
