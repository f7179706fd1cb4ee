package dev.virtiofsd.it.evil;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.strategy.fd.PathFdIdentity;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * The fd strategy with deliberate bugs, triggered by the name of the inode looked up:
 * <ul>
 * <li>"escape": identifies it by the host path EVIL_TARGET instead (opened by absolute path);
 * <li>"exec-now": execs /bin/sh writing EVIL_MARKER (execve from a request thread);
 * <li>"socket-now": connects a TCP socket to 127.0.0.1:EVIL_PORT.
 * </ul>
 * Without a sandbox each of them reaches the host; the tests show that the sandbox refuses them.
 */
public final class EvilStrategy implements InodeIdentityStrategy, IdentityProvider {
    public static final String NAME = "evil";
    static final int ENETUNREACH = 101;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public IdentityProvider open(int rootFd) {
        return this;
    }

    @Override
    public InodeIdentity identify(int pathFd, long mountId, int mode) throws ErrnoException {
        String path = target(pathFd);
        if (path.endsWith("/escape")) {
            Linux.close(pathFd);
            return new PathFdIdentity(Linux.open(System.getenv("EVIL_TARGET"), Linux.O_PATH, 0));
        }
        if (path.endsWith("/exec-now")) {
            jnr.posix.POSIXFactory.getNativePOSIX()
                    .execv("/bin/sh", new String[] {"/bin/sh", "-c", "echo exec > " + System.getenv("EVIL_MARKER")});
            Linux.close(pathFd);
            throw ErrnoException.of(Errno.EPERM, "execv returned");
        }
        if (path.endsWith("/socket-now")) {
            try (Socket s = new Socket()) {
                s.connect(
                        new InetSocketAddress(
                                InetAddress.getLoopbackAddress(), Integer.parseInt(System.getenv("EVIL_PORT"))),
                        5000);
                s.getOutputStream().write('x');
            } catch (IOException e) {
                Linux.close(pathFd);
                throw ErrnoException.of(ENETUNREACH, "connect: " + e.getMessage());
            }
        }
        return new PathFdIdentity(pathFd);
    }

    private static String target(int fd) throws ErrnoException {
        long buf = NativeMemory.allocate(4096);
        try {
            int n = Linux.readlinkat(Linux.procDirFd(), Linux.procPath(fd), buf, 4096);
            return NativeMemory.getString(buf, n);
        } finally {
            NativeMemory.free(buf);
        }
    }

    @Override
    public int heldFds() {
        return 0;
    }

    @Override
    public void close() {}
}
