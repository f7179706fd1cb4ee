package dev.virtiofsd.launcher;

/**
 * Binds libc through jnr-posix and brings up the jffi/jnr-ffi runtime on a background thread while
 * the main thread configures logging and boots Felix. Those libraries are on the launcher's class
 * path and exported to the bundles from the system bundle, so their caches (the jnr-posix libc
 * binding above all, generated with ASM on first use) are the very ones the native bundle uses
 * later: a few hundred milliseconds leave the start-up's critical path on a machine with two cores.
 * Failures are ignored here: the bundle that needs the library reports them when it starts.
 */
final class NativePrewarm {
    private NativePrewarm() {}

    /**
     * A fresh directory for jffi's stub library (system property jffi.extract.dir), unless one is
     * set already; null if none could be made (jffi then uses java.io.tmpdir).
     */
    static java.nio.file.Path extractDirectory() {
        if (System.getProperty("jffi.extract.dir") != null) {
            return null;
        }
        try {
            java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("virtiofsd-java-jffi-");
            System.setProperty("jffi.extract.dir", dir.toString());
            return dir;
        } catch (java.io.IOException e) {
            return null;
        }
    }

    /** Runs {@code first} (other start-up work that needs no framework), then the native warm-up. */
    static void start(Runnable first) {
        Thread t = new Thread(
                () -> {
                    first.run();
                    run();
                },
                "native-prewarm");
        t.setDaemon(true);
        t.start();
    }

    private static void run() {
        try {
            jnr.ffi.Runtime.getSystemRuntime();
            jnr.posix.POSIXFactory.getNativePOSIX();
        } catch (Throwable e) {
            // see the class comment: the bundle's own start reports it
        }
    }
}
