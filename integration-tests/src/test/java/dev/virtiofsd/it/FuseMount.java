package dev.virtiofsd.it;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.fuse.internal.FuseServerImpl;
import dev.virtiofsd.passthrough.internal.PassthroughFileSystem;
import dev.virtiofsd.passthrough.internal.PassthroughOptions;
import dev.virtiofsd.transport.fusedev.internal.FuseDevTransport;
import java.nio.file.Path;

/**
 * Test fixture: the whole daemon stack wired by hand, without Felix (strategy -> passthrough
 * filesystem -> FUSE dispatcher -> /dev/fuse transport), mounted at {@code mountpoint}.
 * {@link #close()} unmounts and closes the filesystem (releasing every fd it held).
 */
public final class FuseMount implements AutoCloseable {
    /** Reader threads per mount: two, so that a blocked request does not stall the others. */
    public static final int THREADS = 2;

    private final PassthroughFileSystem fileSystem;
    private final FuseDevTransport transport;
    private final Path mountpoint;

    private FuseMount(PassthroughFileSystem fileSystem, FuseDevTransport transport, Path mountpoint) {
        this.fileSystem = fileSystem;
        this.transport = transport;
        this.mountpoint = mountpoint;
    }

    /**
     * Mounts {@code sharedDir} at {@code mountpoint} (both existing directories). Failures are
     * rethrown unchecked, with the errno in the message.
     */
    public static FuseMount mount(
            Path sharedDir, Path mountpoint, InodeIdentityStrategy strategy, PassthroughOptions options) {
        return mount(sharedDir, mountpoint, strategy, options, THREADS);
    }

    public static FuseMount mount(
            Path sharedDir, Path mountpoint, InodeIdentityStrategy strategy, PassthroughOptions options, int threads) {
        PassthroughFileSystem fs;
        try {
            fs = new PassthroughFileSystem(options, strategy);
        } catch (ErrnoException e) {
            throw new IllegalStateException("cannot open shared dir " + sharedDir + ": " + e.getMessage(), e);
        }
        FuseDevTransport transport = new FuseDevTransport(new FuseServerImpl(fs), mountpoint, threads);
        try {
            transport.start();
        } catch (ErrnoException | RuntimeException e) {
            transport.close();
            fs.close();
            throw new IllegalStateException("cannot mount at " + mountpoint + ": " + e.getMessage(), e);
        }
        return new FuseMount(fs, transport, mountpoint.toAbsolutePath());
    }

    public PassthroughFileSystem fileSystem() {
        return fileSystem;
    }

    public Path mountpoint() {
        return mountpoint;
    }

    /** Unmounts (waits for the reader threads) and closes the filesystem. */
    @Override
    public void close() {
        try {
            transport.close();
        } finally {
            fileSystem.close();
        }
    }
}
