package dev.virtiofsd.frontend;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.frontend.VhostUserFrontend.Reply;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.PollFds;
import dev.virtiofsd.linux.UnixSocket;

/**
 * The front end's side of the vhost-user socket: a message is a 12-byte header (request, flags,
 * size), its payload and any fds (SCM_RIGHTS); a reply must carry the request's code and flags
 * exactly VERSION | REPLY.
 */
final class MessageChannel implements AutoCloseable {
    private static final int HEADER = 12;
    /** The largest payload a reply may declare (the message buffer less the header). */
    private static final int MAX_PAYLOAD = 4096 - HEADER;

    private final UnixSocket socket;
    private final long msg = NativeMemory.allocate(4096);
    private final PollFds pollFd = new PollFds(1);

    MessageChannel(String path) throws ErrnoException {
        UnixSocket s;
        try {
            s = UnixSocket.connect(path);
        } catch (ErrnoException | RuntimeException e) {
            release();
            throw e;
        }
        socket = s;
    }

    /** Sends a raw message: header with these fields, {@code payload} and fds. */
    void sendRaw(int request, int flags, int size, byte[] payload, int... fds) throws ErrnoException {
        NativeMemory.putInt(msg, request);
        NativeMemory.putInt(msg + 4, flags);
        NativeMemory.putInt(msg + 8, size);
        NativeMemory.putBytes(msg + HEADER, payload, 0, payload.length);
        socket.send(msg, HEADER + payload.length, fds, fds.length);
    }

    /** Waits up to {@code timeoutMillis} for a reply; null on timeout; throws EPIPE when the back end closed. */
    Reply readReply(int timeoutMillis) throws ErrnoException {
        if (pollFd.set(0, socket.fd(), Linux.POLLIN).poll(1, timeoutMillis) == 0) {
            return null;
        }
        int[] fds = new int[UnixSocket.MAX_FDS];
        int n = socket.recv(msg, HEADER, fds);
        for (int f : fds) {
            Linux.close(f);
        }
        if (n == 0) {
            throw ErrnoException.of(Errno.EPIPE, "back end closed the connection");
        }
        if (n < HEADER) {
            socket.recvFully(msg + n, HEADER - n);
        }
        int size = NativeMemory.getInt(msg + 8);
        if (size < 0 || size > MAX_PAYLOAD) {
            throw ErrnoException.of(Errno.EBADMSG, "reply size " + size);
        }
        socket.recvFully(msg + HEADER, size);
        byte[] p = new byte[size];
        NativeMemory.getBytes(msg + HEADER, p, 0, size);
        return new Reply(NativeMemory.getInt(msg), NativeMemory.getInt(msg + 4), p);
    }

    /** A message that has a reply (GET_*): sends it and waits up to 10 s for a well-formed reply. */
    Reply call(int request, byte[] payload, int... fds) throws ErrnoException {
        sendRaw(request, VhostUserFrontend.FLAG_VERSION, payload.length, payload, fds);
        Reply r = readReply(10_000);
        if (r == null) {
            throw ErrnoException.of(Errno.ETIMEDOUT, "no reply to request " + request);
        }
        if (r.request() != request || r.flags() != (VhostUserFrontend.FLAG_VERSION | VhostUserFrontend.FLAG_REPLY)) {
            throw ErrnoException.of(Errno.EBADMSG, "bad reply header " + r.request() + "/" + r.flags());
        }
        return r;
    }

    /** A message without a reply; with {@code ack} (REPLY_ACK) asks for an ack and fails on a non-zero one. */
    void message(boolean ack, int request, byte[] payload, int... fds) throws ErrnoException {
        sendRaw(
                request,
                VhostUserFrontend.FLAG_VERSION | (ack ? VhostUserFrontend.FLAG_NEED_REPLY : 0),
                payload.length,
                payload,
                fds);
        if (ack) {
            Reply r = readReply(10_000);
            if (r == null) {
                throw ErrnoException.of(Errno.ETIMEDOUT, "no ack to request " + request);
            }
            if (r.request() != request
                    || r.flags() != (VhostUserFrontend.FLAG_VERSION | VhostUserFrontend.FLAG_REPLY)
                    || r.payload().length != 8) {
                throw ErrnoException.of(Errno.EBADMSG, "bad ack header " + r.request() + "/" + r.flags());
            }
            if (r.u64() != 0) {
                throw ErrnoException.of(Errno.EIO, "back end failed request " + request);
            }
        }
    }

    /** Shuts the socket down: the back end sees a disconnect. */
    void shutdown() {
        socket.shutdown();
    }

    @Override
    public void close() {
        socket.close();
        release();
    }

    private void release() {
        NativeMemory.free(msg);
        pollFd.close();
    }
}
