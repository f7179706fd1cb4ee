package dev.virtiofsd.launcher;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Sets up the logging that the shipped conf/logback.xml (or, without one, the launcher's
 * logback-default.xml) describes, in code: a stderr console appender with that file's pattern at
 * INFO. Parsing the XML costs a few hundred milliseconds of start-up, so {@link Main} uses this only
 * when conf/logback.xml is byte for byte the shipped file; an edited file goes to logback as before.
 * Found by logback through META-INF/services; does nothing unless {@value #PATTERN_PROPERTY} is set.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_TOP_PRIORITY)
public final class StockLogging extends ContextAwareBase implements Configurator {
    static final String PATTERN_PROPERTY = "virtiofsd.logging.pattern";
    /** The pattern of the shipped conf/logback.xml (resource logback-stock.xml is a copy of that file). */
    static final String STOCK_PATTERN = "[%d{yyyy-MM-dd'T'HH:mm:ss'Z',UTC} %-5level %logger{0}] %msg%n";
    /** The pattern of logback-default.xml, used when there is no conf/logback.xml. */
    static final String DEFAULT_PATTERN = "[%d{yyyy-MM-dd'T'HH:mm:ss.SSSX} %-5level %logger{0}] %msg%n";

    public StockLogging() {}

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        String pattern = System.getProperty(PATTERN_PROPERTY);
        if (pattern == null || pattern.isEmpty()) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(pattern);
        encoder.start();
        ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
        appender.setContext(context);
        appender.setName("STDERR");
        appender.setTarget("System.err");
        appender.setEncoder(encoder);
        appender.start();
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.INFO);
        root.addAppender(appender);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** Whether {@code conf} holds exactly the shipped conf/logback.xml. */
    static boolean isStock(Path conf) {
        try (InputStream in = StockLogging.class.getResourceAsStream("logback-stock.xml")) {
            return in != null && Files.size(conf) < 65536 && Arrays.equals(in.readAllBytes(), Files.readAllBytes(conf));
        } catch (IOException e) {
            return false;
        }
    }
}
