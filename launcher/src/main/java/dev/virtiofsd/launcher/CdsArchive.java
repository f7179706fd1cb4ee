package dev.virtiofsd.launcher;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import javax.management.ObjectName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the class-data-sharing archive that bin/virtiofsd-java asked for (system property
 * {@value #DUMP_PROPERTY}, set when its per-user cache has no archive yet and the JVM runs with
 * -XX:+RecordDynamicDumpInfo). The dump happens once the daemon serves, so the archive holds every
 * class of a real start-up (a --help or a failed start never writes one), and it goes to a file of
 * this process first, then is renamed into place: daemons starting at the same time each write
 * their own complete archive and the last rename wins; readers never see a partial file.
 */
final class CdsArchive {
    static final String DUMP_PROPERTY = "virtiofsd.cds.dump";

    /**
     * Set by bin/virtiofsd-java on a JDK 25+ training run (-XX:AOTMode=record): the file that says
     * the run served, created once it does. The JVM writes its recording at every exit, also after
     * a bad command line; the script assembles an ahead-of-time cache only from a recording with
     * this file beside it.
     */
    static final String AOT_TRAINED_PROPERTY = "virtiofsd.aot.trained";

    private static final Logger LOG = LoggerFactory.getLogger(CdsArchive.class);

    private CdsArchive() {}

    /**
     * Dumps if the bin script asked for it: in the background, or now when the sandbox is about to
     * take the cache directory out of reach.
     */
    @SuppressWarnings("ThreadPriorityCheck") // a hint only: the dump should yield to serving requests
    static void dumpIfRequested(boolean now) {
        String target = System.getProperty(DUMP_PROPERTY);
        if (target == null || target.isEmpty()) {
            return;
        }
        if (now) {
            dump(Paths.get(target));
            return;
        }
        Thread t = new Thread(() -> dump(Paths.get(target)), "cds-dump");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    /** On a training run, records that this run served (see {@link #AOT_TRAINED_PROPERTY}). */
    static void markTrained() {
        String marker = System.getProperty(AOT_TRAINED_PROPERTY);
        if (marker == null || marker.isEmpty()) {
            return;
        }
        try {
            Files.write(Paths.get(marker), new byte[0]);
        } catch (IOException e) {
            // Only start-up speed is at stake: the next start trains again.
            LOG.debug("ahead-of-time cache marker {} not written: {}", marker, e.toString());
        }
    }

    /** Milliseconds after serving starts at which start-up garbage is collected ({@value}). */
    static final long SETTLE_MILLIS = 2000;

    /**
     * Start-up (Felix, SCR, logback, jnr's binding generation) leaves a heap that grew to some
     * 20 MiB around a few MiB of live data. One full collection once the daemon serves compacts it,
     * and the serial collector then gives the free part back to the OS: idle RSS drops by about that
     * much. Once per start, in the background, off the request path (a pause of a few ms).
     */
    @SuppressWarnings("ThreadPriorityCheck") // a hint only: it should yield to serving requests
    static void compactAfterStart() {
        Thread t = new Thread(
                () -> {
                    try {
                        Thread.sleep(SETTLE_MILLIS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                    System.gc();
                },
                "after-start");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    static void dump(Path target) {
        Path tmp = target.resolveSibling(
                target.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        PrintStream stdout = System.out;
        try {
            // The JDK reports the dump on System.out, which carries only what was asked for.
            System.setOut(new PrintStream(OutputStream.nullOutputStream()));
            // jcmd VM.cds dynamic_dump, in-process (JDK 17+).
            Object out = ManagementFactory.getPlatformMBeanServer()
                    .invoke(
                            new ObjectName("com.sun.management:type=DiagnosticCommand"),
                            "vmCds",
                            new Object[] {new String[] {"dynamic_dump", tmp.toString()}},
                            new String[] {String[].class.getName()});
            if (!Files.isRegularFile(tmp)) {
                LOG.debug("no class-data archive written: {}", out);
                return;
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            LOG.debug("class-data archive {} written", target);
        } catch (Exception | LinkageError e) {
            // Only start-up speed is at stake: the next start runs without the archive and tries again.
            LOG.debug("class-data archive {} not written: {}", target, e.toString());
        } finally {
            System.setOut(stdout);
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException e) {
                // best effort
            }
        }
    }
}
