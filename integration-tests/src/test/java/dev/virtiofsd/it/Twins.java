package dev.virtiofsd.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.passthrough.internal.PassthroughOptions;
import dev.virtiofsd.strategy.fd.internal.FdStrategy;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.function.UnaryOperator;

/**
 * A FUSE mount of a shared directory plus a native "twin" directory on the same host filesystem.
 * Every operation of a test runs twice: once on the twin (what the kernel does natively) and once
 * through the mount; the outcomes (results or errno names) must be equal.
 *
 * <p>The passthrough filesystem sets the process umask to 0 (it applies the client's umask itself,
 * like C virtiofsd), so in-process expectations never depend on a umask; shell scripts set their own.
 *
 * <p>Layout under one base directory (mode 755, so that uid 1000 can reach it):
 * {@code native/}, {@code shared/} (the daemon's shared dir) and {@code mnt/} (the mountpoint).
 */
public final class Twins implements AutoCloseable {
    /** An operation under test, given the directory it works in (twin or mount). */
    @FunctionalInterface
    public interface Op {
        Object run(Path dir) throws Exception;
    }

    public final Path base;
    public final Path nativeRoot;
    public final Path shared;
    public final Path mnt;
    public final FuseMount mount;

    private Twins(Path base, FuseMount mount) {
        this.base = base;
        this.nativeRoot = base.resolve("native");
        this.shared = base.resolve("shared");
        this.mnt = base.resolve("mnt");
        this.mount = mount;
    }

    public static Twins mount(UnaryOperator<PassthroughOptions> options) {
        return mount(new FdStrategy(), options);
    }

    public static Twins mount(InodeIdentityStrategy strategy, UnaryOperator<PassthroughOptions> options) {
        try {
            Path base = Files.createTempDirectory(Path.of("/tmp"), "virtiofsd-it-");
            Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
            for (String d : new String[] {"native", "shared", "mnt"}) {
                Files.createDirectory(base.resolve(d));
                Files.setPosixFilePermissions(base.resolve(d), PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            Path shared = base.resolve("shared");
            FuseMount m = FuseMount.mount(
                    shared, base.resolve("mnt"), strategy, options.apply(PassthroughOptions.of(shared)));
            return new Twins(base, m);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A fresh, empty directory {@code name} in both roots (created natively in the shared dir). */
    public Case newCase(String name) {
        try {
            Files.createDirectory(nativeRoot.resolve(name));
            Files.createDirectory(shared.resolve(name));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return new Case(nativeRoot.resolve(name), mnt.resolve(name), shared.resolve(name));
    }

    /** One test's pair of directories. */
    public static final class Case {
        public final Path nat;
        public final Path fuse;
        public final Path shared;

        Case(Path nat, Path fuse, Path shared) {
            this.nat = nat;
            this.fuse = fuse;
            this.shared = shared;
        }

        /** Runs {@code op} on the twin, then through the mount; asserts equal outcomes; returns it. */
        public String same(String what, Op op) {
            String expected = outcome(op, nat);
            String actual = outcome(op, fuse);
            assertEquals(expected, actual, what + " (native vs fuse)");
            return actual;
        }

        /** Like {@link #same} and also pins the outcome, so a test fails if both sides change. */
        public void expect(String expected, String what, Op op) {
            String n = outcome(op, nat);
            assertEquals(expected, n, what + " (native, checks the test itself)");
            assertEquals(expected, outcome(op, fuse), what + " (fuse)");
        }

        String outcome(Op op, Path dir) {
            try {
                Object r = op.run(dir);
                return r == null ? "ok" : String.valueOf(r).replace(dir.toString(), "D");
            } catch (ErrnoException e) {
                return Sys.errnoName(e);
            } catch (FileSystemException e) {
                return "X" + e.getClass().getSimpleName() + ":" + e.getReason();
            } catch (Exception e) {
                throw new AssertionError("unexpected " + e + " in " + dir, e);
            }
        }
    }

    /** Unmounts, then removes the base directory. */
    @Override
    public void close() {
        try {
            mount.close();
        } finally {
            try {
                new ProcessBuilder("rm", "-rf", base.toString())
                        .inheritIO()
                        .start()
                        .waitFor();
            } catch (IOException | InterruptedException e) {
                // left for the OS to clean /tmp
            }
        }
    }
}
