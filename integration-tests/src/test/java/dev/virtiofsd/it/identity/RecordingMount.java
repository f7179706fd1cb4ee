package dev.virtiofsd.it.identity;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.EntryOut;
import dev.virtiofsd.api.fs.FileSystem;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.fuse.internal.FuseServerImpl;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.passthrough.internal.PassthroughFileSystem;
import dev.virtiofsd.passthrough.internal.PassthroughOptions;
import dev.virtiofsd.transport.fusedev.internal.FuseDevTransport;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Like {@code FuseMount}, but the dispatcher talks to the passthrough filesystem through a
 * recording proxy, so a test can see the FUSE node id each LOOKUP answered. (The client's
 * {@code st_ino} is the host inode number, the same for an old file and the new file that reused its
 * number; only node ids tell the client's view of two inodes apart.)
 */
final class RecordingMount implements AutoCloseable {
    private final PassthroughFileSystem fileSystem;
    private final FuseDevTransport transport;
    private final Map<String, Long> lookups = new ConcurrentHashMap<>();

    private RecordingMount(PassthroughFileSystem fileSystem, Path mountpoint, int threads) {
        this.fileSystem = fileSystem;
        InvocationHandler recorder = (proxy, method, args) -> {
            Object result;
            try {
                result = method.invoke(fileSystem, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            if (method.getName().equals("lookup") && args != null && args.length == 4) {
                String name = NativeMemory.getString((Long) args[2]);
                lookups.put(name, ((EntryOut) args[3]).nodeId);
            }
            return result;
        };
        FileSystem recorded = (FileSystem)
                Proxy.newProxyInstance(FileSystem.class.getClassLoader(), new Class<?>[] {FileSystem.class}, recorder);
        this.transport = new FuseDevTransport(new FuseServerImpl(recorded), mountpoint, threads);
    }

    static RecordingMount mount(Path mountpoint, InodeIdentityStrategy strategy, PassthroughOptions options)
            throws ErrnoException {
        PassthroughFileSystem fs = new PassthroughFileSystem(options, strategy);
        RecordingMount m = new RecordingMount(fs, mountpoint, 2);
        try {
            m.transport.start();
        } catch (ErrnoException | RuntimeException e) {
            m.close();
            throw e;
        }
        return m;
    }

    /** The node id of the last successful LOOKUP of {@code name} (any parent), or null. */
    Long nodeIdOf(String name) {
        return lookups.get(name);
    }

    PassthroughFileSystem fileSystem() {
        return fileSystem;
    }

    @Override
    public void close() {
        try {
            transport.close();
        } finally {
            fileSystem.close();
        }
    }
}
