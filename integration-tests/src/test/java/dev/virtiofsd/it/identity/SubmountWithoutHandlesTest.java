package dev.virtiofsd.it.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.it.FuseMount;
import dev.virtiofsd.it.Sys;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.passthrough.internal.PassthroughOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Issue 5, "done when" 3: a submount without export support inside the shared directory.
 *
 * <p>The submount is a ramfs: it has no export operations, so name_to_handle_at fails with
 * EOPNOTSUPP (checked below as a precondition). A FUSE mount would not do here: the kernel gives a
 * FUSE superblock full export operations unless the server declares FUSE_NO_EXPORT_SUPPORT
 * (protocol 7.40); without FUSE_EXPORT_SUPPORT only the decoding of uncached inodes fails (ESTALE).
 * tmpfs and devtmpfs support handles; proc and sysfs do not, but their files report odd sizes.
 */
class SubmountWithoutHandlesTest {
    private static final String SUB_CONTENT = "served from a ramfs submount\n";
    private static final String TOP_CONTENT = "served from the shared directory's own filesystem\n";

    private static Path base;
    private static Path shared;
    private static Path sub;
    private static boolean mounted;

    private Logger logger;
    private ListAppender<ILoggingEvent> log;

    @BeforeAll
    static void mountRamfs() throws Exception {
        base = Files.createTempDirectory("submount");
        shared = Files.createDirectory(base.resolve("shared"));
        sub = Files.createDirectory(shared.resolve("sub"));
        Files.writeString(shared.resolve("top"), TOP_CONTENT);
        Strategies.run("mount", "-t", "ramfs", "ramfs", sub.toString());
        mounted = true;
        Files.writeString(sub.resolve("file"), SUB_CONTENT);
        Files.createDirectory(sub.resolve("dir"));
    }

    @AfterAll
    static void unmountRamfs() {
        if (mounted) {
            Strategies.umountQuietly(sub);
        }
        Strategies.deleteTree(base);
    }

    @BeforeEach
    void captureLog() {
        logger = (Logger) LoggerFactory.getLogger(Strategies.HANDLE_LOGGER);
        log = new ListAppender<>();
        log.start();
        logger.addAppender(log);
    }

    @AfterEach
    void releaseLog() {
        logger.detachAppender(log);
    }

    private List<String> warnings() {
        return log.list.stream()
                .filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                .map(ILoggingEvent::getFormattedMessage)
                .collect(Collectors.toList());
    }

    @Test
    void precondition_ramfsGivesNoFileHandles() throws Exception {
        long buf = NativeMemory.allocate(8 + 128 + 8);
        int fd = Sys.open(sub.resolve("file"), Linux.O_PATH, 0);
        try {
            NativeMemory.putInt(buf, 128);
            ErrnoException e = assertThrows(
                    ErrnoException.class,
                    () -> Linux.nameToHandleAt(fd, Linux.EMPTY_PATH, buf, buf + 8 + 128, Linux.AT_EMPTY_PATH));
            assertEquals(Errno.EOPNOTSUPP, e.errno());
        } finally {
            Sys.close(fd);
            NativeMemory.free(buf);
        }
    }

    @Test
    void preferServesTheSubmountThroughOPathFallback() throws Exception {
        Path mnt = Files.createDirectory(base.resolve("mnt-prefer"));
        try (FuseMount m = FuseMount.mount(
                shared,
                mnt,
                Strategies.byName("handle-preferred"),
                PassthroughOptions.of(shared).cache("auto"))) {
            assertEquals(SUB_CONTENT, Sys.readString(mnt.resolve("sub/file")));
            assertEquals(Linux.S_IFDIR, Sys.lstat(mnt.resolve("sub/dir")).type());
            assertEquals(TOP_CONTENT, Sys.readString(mnt.resolve("top")));
            Map<String, Long> kinds = m.fileSystem().inodesByKind();
            // sub (the ramfs root), sub/file and sub/dir are held by O_PATH fds; top by handle
            assertTrue(kinds.getOrDefault("fd", 0L) >= 3, kinds.toString());
            assertTrue(kinds.getOrDefault("handle", 0L) >= 1, kinds.toString());
            assertTrue(warnings().isEmpty(), "prefer falls back silently: " + warnings());
        } finally {
            Files.deleteIfExists(mnt);
        }
    }

    @Test
    void mandatoryAnswersEopnotsuppAndLogsOneLineForTheMount() throws Exception {
        Path mnt = Files.createDirectory(base.resolve("mnt-mandatory"));
        try (FuseMount m = FuseMount.mount(
                shared,
                mnt,
                Strategies.byName("handle-only"),
                PassthroughOptions.of(shared).cache("auto"))) {
            for (String p : new String[] {"sub", "sub/file", "sub", "sub/dir", "sub/file"}) {
                ErrnoException e = assertThrows(ErrnoException.class, () -> Sys.lstat(mnt.resolve(p)), p);
                assertEquals("EOPNOTSUPP", Sys.errnoName(e), p);
            }
            assertThrows(ErrnoException.class, () -> Sys.readString(mnt.resolve("sub/file")));
            assertEquals(TOP_CONTENT, Sys.readString(mnt.resolve("top")), "the rest of the share works");
            List<String> w = warnings();
            assertEquals(1, w.size(), "exactly one line for the ramfs mount: " + w);
            assertTrue(w.get(0).contains("ramfs") && w.get(0).contains("EOPNOTSUPP"), w.get(0));
            assertTrue(
                    m.fileSystem().inodesByKind().getOrDefault("fd", 0L) <= 1,
                    "mandatory holds no O_PATH fds: " + m.fileSystem().inodesByKind());
        } finally {
            Files.deleteIfExists(mnt);
        }
    }
}
