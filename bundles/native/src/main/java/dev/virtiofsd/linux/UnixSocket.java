package dev.virtiofsd.linux;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.internal.LibC;
import java.nio.charset.StandardCharsets;

/**
 * A connected AF_UNIX stream socket that sends and receives bytes with file descriptors attached
 * (SCM_RIGHTS), as vhost-user needs. One instance owns native msghdr/cmsg buffers; it is meant
 * for one thread at a time.
 */
public final class UnixSocket implements AutoCloseable {
    /** Most fds one message may carry (vhost-user allows 8). */
    public static final int MAX_FDS = 8;

    private static final int SO_PEERCRED = 17;
    private static final int MSGHDR = 0;
    private static final int IOV = 64;
    private static final int CMSG = 96;
    private static final int CMSG_SPACE = 16 + 4 * MAX_FDS;
    private static final int BUFFERS = CMSG + CMSG_SPACE + 16;

    private final int fd;
    private final long buf = NativeMemory.allocate(BUFFERS);
    /** Guards close(); a private lock, since callers may lock the socket object for their own ends. */
    private final Object closeLock = new Object();

    private boolean closed;

    public UnixSocket(int fd) {
        this.fd = fd;
    }

    public int fd() {
        return fd;
    }

    /** Creates a listening socket bound to {@code path}; the caller unlinks a stale file first. */
    public static int listen(String path, int backlog) throws ErrnoException {
        return listen(path, backlog, -1, -1);
    }

    /**
     * Like {@link #listen(String, int)}, and gives the socket file {@code mode} and group {@code gid}
     * (-1: leave as created) before it listens, so nobody can connect while it is still open to more
     * users than intended.
     */
    public static int listen(String path, int backlog, int mode, int gid) throws ErrnoException {
        int s = socket();
        long addr = NativeMemory.allocate(112);
        try {
            int len = sockaddr(addr, path);
            if (lib().bind(s, addr, len) < 0) {
                throw ErrnoException.of(Linux.errno(), "bind " + path);
            }
            if (gid >= 0) {
                chown(path, -1, gid);
            }
            if (mode >= 0) {
                chmod(path, mode);
            }
            if (lib().listen(s, backlog) < 0) {
                throw ErrnoException.of(Linux.errno(), "listen " + path);
            }
            return s;
        } catch (ErrnoException e) {
            Linux.close(s);
            throw e;
        } finally {
            NativeMemory.free(addr);
        }
    }

    /** Connects to the socket at {@code path}. */
    public static UnixSocket connect(String path) throws ErrnoException {
        int s = socket();
        long addr = NativeMemory.allocate(112);
        try {
            int len = sockaddr(addr, path);
            if (lib().connect(s, addr, len) < 0) {
                throw ErrnoException.of(Linux.errno(), "connect " + path);
            }
            return new UnixSocket(s);
        } catch (ErrnoException e) {
            Linux.close(s);
            throw e;
        } finally {
            NativeMemory.free(addr);
        }
    }

    /**
     * A datagram socket connected to {@code path} (e.g. the syslog socket /dev/log): afterwards
     * write(2) sends to it without naming the path again, also inside the sandbox.
     */
    public static int connectDatagram(String path) throws ErrnoException {
        int s = lib().socket(Linux.AF_UNIX, 2 /* SOCK_DGRAM */ | Linux.SOCK_CLOEXEC, 0);
        if (s < 0) {
            throw ErrnoException.of(Linux.errno(), "socket");
        }
        long addr = NativeMemory.allocate(112);
        try {
            int len = sockaddr(addr, path);
            if (lib().connect(s, addr, len) < 0) {
                throw ErrnoException.of(Linux.errno(), "connect " + path);
            }
            return s;
        } catch (ErrnoException e) {
            Linux.close(s);
            throw e;
        } finally {
            NativeMemory.free(addr);
        }
    }

    /** accept4(2) on a listening socket; blocks. Returns the connected fd. */
    public static int accept(int listenFd) throws ErrnoException {
        while (true) {
            int r = lib().accept4(listenFd, 0, 0, Linux.SOCK_CLOEXEC);
            if (r >= 0) {
                return r;
            }
            int errno = Linux.errno();
            if (errno != Errno.EINTR) {
                throw ErrnoException.of(errno);
            }
        }
    }

    /**
     * The credentials of the peer of connected socket {@code fd} when it connected (SO_PEERCRED):
     * {pid, uid, gid}, as numbers (no user database lookup, which inside the sandbox could not run).
     */
    public static int[] peerCredentials(int fd) throws ErrnoException {
        long m = NativeMemory.allocate(16);
        try {
            NativeMemory.putInt(m + 12, 12); // socklen_t after the 12-byte struct ucred
            if (lib().getsockopt(fd, Linux.SOL_SOCKET, SO_PEERCRED, m, m + 12) < 0) {
                throw ErrnoException.of(Linux.errno(), "getsockopt SO_PEERCRED");
            }
            return new int[] {NativeMemory.getInt(m), NativeMemory.getInt(m + 4), NativeMemory.getInt(m + 8)};
        } finally {
            NativeMemory.free(m);
        }
    }

    public static void chown(String path, int uid, int gid) throws ErrnoException {
        if (lib().chown(path, uid, gid) < 0) {
            throw ErrnoException.of(Linux.errno(), "chown " + path);
        }
    }

    public static void chmod(String path, int mode) throws ErrnoException {
        if (lib().chmod(path, mode) < 0) {
            throw ErrnoException.of(Linux.errno(), "chmod " + path);
        }
    }

    private static int socket() throws ErrnoException {
        int s = lib().socket(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC, 0);
        if (s < 0) {
            throw ErrnoException.of(Linux.errno(), "socket");
        }
        return s;
    }

    private static int sockaddr(long addr, String path) throws ErrnoException {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        if (p.length >= 108) {
            throw ErrnoException.of(Errno.ENAMETOOLONG, "socket path " + path);
        }
        NativeMemory.putShort(addr, (short) Linux.AF_UNIX);
        NativeMemory.putBytes(addr + 2, p, 0, p.length);
        NativeMemory.putByte(addr + 2 + p.length, (byte) 0);
        return 2 + p.length + 1;
    }

    private static LibC lib() {
        return Linux.libc();
    }

    /**
     * Receives up to {@code len} bytes into {@code dst}; fds that came along are stored in
     * {@code fds} (unused slots set to -1) and must be closed by the caller.
     *
     * @return bytes received; 0 means the peer closed the connection
     */
    public int recv(long dst, int len, int[] fds) throws ErrnoException {
        for (int i = 0; i < fds.length; i++) {
            fds[i] = -1;
        }
        NativeMemory.fill(buf, BUFFERS, (byte) 0);
        NativeMemory.putLong(buf + IOV, dst);
        NativeMemory.putLong(buf + IOV + 8, len);
        NativeMemory.putLong(buf + MSGHDR + 16, buf + IOV);
        NativeMemory.putLong(buf + MSGHDR + 24, 1);
        NativeMemory.putLong(buf + MSGHDR + 32, buf + CMSG);
        NativeMemory.putLong(buf + MSGHDR + 40, CMSG_SPACE);
        long n = recvmsgRetrying();
        long controlLen = NativeMemory.getLong(buf + MSGHDR + 40);
        int got = 0;
        long c = buf + CMSG;
        long end = c + controlLen;
        while (c + 16 <= end) {
            long cmsgLen = NativeMemory.getLong(c);
            if (cmsgLen < 16 || c + cmsgLen > end) {
                break;
            }
            if (NativeMemory.getInt(c + 8) == Linux.SOL_SOCKET && NativeMemory.getInt(c + 12) == Linux.SCM_RIGHTS) {
                int count = (int) ((cmsgLen - 16) / 4);
                for (int i = 0; i < count; i++) {
                    int f = NativeMemory.getInt(c + 16 + 4L * i);
                    if (got < fds.length) {
                        fds[got++] = f;
                    } else {
                        Linux.close(f);
                    }
                }
            }
            c += (cmsgLen + 7) & ~7L;
        }
        return (int) n;
    }

    /** recvmsg(2) that retries when a signal interrupts it (JFR sampling, debuggers). */
    private long recvmsgRetrying() throws ErrnoException {
        while (true) {
            try {
                return Linux.recvmsg(fd, buf + MSGHDR, 0);
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EINTR) {
                    throw e;
                }
            }
        }
    }

    /** Receives exactly {@code len} bytes (no fds expected); throws EPIPE if the peer closes first. */
    public void recvFully(long dst, int len) throws ErrnoException {
        int off = 0;
        while (off < len) {
            int n;
            try {
                n = Linux.read(fd, dst + off, len - off);
            } catch (ErrnoException e) {
                if (e.errno() == Errno.EINTR) {
                    continue;
                }
                throw e;
            }
            if (n == 0) {
                throw ErrnoException.of(Errno.EPIPE);
            }
            off += n;
        }
    }

    /** Sends {@code len} bytes from {@code src} with {@code nfds} fds from {@code fds} attached. */
    public void send(long src, int len, int[] fds, int nfds) throws ErrnoException {
        if (nfds > MAX_FDS) {
            throw ErrnoException.of(Errno.EINVAL);
        }
        NativeMemory.fill(buf, BUFFERS, (byte) 0);
        NativeMemory.putLong(buf + IOV, src);
        NativeMemory.putLong(buf + IOV + 8, len);
        NativeMemory.putLong(buf + MSGHDR + 16, buf + IOV);
        NativeMemory.putLong(buf + MSGHDR + 24, 1);
        if (nfds > 0) {
            NativeMemory.putLong(buf + CMSG, 16 + 4L * nfds);
            NativeMemory.putInt(buf + CMSG + 8, Linux.SOL_SOCKET);
            NativeMemory.putInt(buf + CMSG + 12, Linux.SCM_RIGHTS);
            for (int i = 0; i < nfds; i++) {
                NativeMemory.putInt(buf + CMSG + 16 + 4L * i, fds[i]);
            }
            NativeMemory.putLong(buf + MSGHDR + 32, buf + CMSG);
            NativeMemory.putLong(buf + MSGHDR + 40, (16 + 4L * nfds + 7) & ~7L);
        }
        long sent;
        while (true) {
            try {
                sent = Linux.sendmsg(fd, buf + MSGHDR, 0);
                break;
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EINTR) {
                    throw e;
                }
            }
        }
        // Fds travel with the first byte; send any rest plainly.
        for (long off = sent; off < len; ) {
            off += Linux.write(fd, src + off, (int) (len - off));
        }
    }

    /** Shuts the connection down so that a thread blocked in {@link #recv} returns 0. */
    public void shutdown() {
        try {
            Linux.shutdown(fd, 2);
        } catch (ErrnoException e) {
            // already disconnected
        }
    }

    @Override
    public void close() {
        synchronized (closeLock) {
            if (!closed) {
                closed = true;
                Linux.close(fd);
                NativeMemory.free(buf);
            }
        }
    }
}
