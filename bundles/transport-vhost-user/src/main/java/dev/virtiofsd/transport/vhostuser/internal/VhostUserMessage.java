package dev.virtiofsd.transport.vhostuser.internal;

import static dev.virtiofsd.transport.vhostuser.internal.VhostUser.*;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.UnixSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One vhost-user message as read from the front end's socket (header, payload, the fds that came
 * with it) and the reply its handler decided on. One instance per connection, reused for every
 * message; the payload buffer doubles as the reply's.
 */
final class VhostUserMessage {
    private static final Logger LOG = LoggerFactory.getLogger(VhostUserMessage.class);

    private final UnixSocket socket;
    private final long buf = NativeMemory.allocate(HEADER_SIZE + MAX_PAYLOAD);
    /** Fds received with the message: {@code fds[0, nfds)}, -1 past them. */
    private final int[] fds = new int[UnixSocket.MAX_FDS];

    int request;
    private int flags;
    int size;
    /** Native address of the payload; a reply payload is written over it. */
    final long payload = buf + HEADER_SIZE;

    int nfds;

    /** The reply carries data ({@link #replySize} bytes of payload), as GET_* messages do. */
    boolean hasReply;

    int replySize;
    /** The handler refused the message. */
    boolean failed;
    /** Fds [0, keptFds) now belong to the handler; the others are closed after it ran. */
    int keptFds;

    VhostUserMessage(UnixSocket socket) {
        this.socket = socket;
    }

    /**
     * Reads the next message; false at end of stream, or when it cannot be a message of the
     * protocol (payload too large, unknown version): then the connection must close.
     */
    boolean read() throws ErrnoException {
        int n = socket.recv(buf, HEADER_SIZE, fds);
        if (n == 0) {
            closeFds(0);
            return false;
        }
        try {
            if (n < HEADER_SIZE) {
                socket.recvFully(buf + n, HEADER_SIZE - n);
            }
            int announced = NativeMemory.getInt(buf + 8);
            if (announced > 0 && announced <= MAX_PAYLOAD) {
                socket.recvFully(payload, announced);
            }
        } catch (ErrnoException e) {
            // The stream ended (or broke) inside the message: the fds that came with its header are
            // ours to close, or every truncated fd-carrying message leaks them.
            closeFds(0);
            throw e;
        }
        request = NativeMemory.getInt(buf);
        flags = NativeMemory.getInt(buf + 4);
        size = NativeMemory.getInt(buf + 8);
        nfds = 0;
        while (nfds < fds.length && fds[nfds] >= 0) {
            nfds++;
        }
        hasReply = false;
        replySize = 0;
        failed = false;
        keptFds = 0;
        if (size < 0 || size > MAX_PAYLOAD) {
            LOG.error("vhost-user {}: payload size {} is too large; closing the connection", name(request), size);
            closeFds(0);
            return false;
        }
        if ((flags & VERSION_MASK) != VERSION) {
            LOG.error(
                    "vhost-user {}: unsupported version in flags 0x{}; closing the connection",
                    name(request),
                    Integer.toHexString(flags));
            closeFds(0);
            return false;
        }
        if (LOG.isDebugEnabled()) {
            LOG.debug("vhost-user {} flags 0x{} size {} fds {}", name(request), Integer.toHexString(flags), size, nfds);
        }
        return true;
    }

    /** The front end set NEED_REPLY (honoured only with PROTOCOL_F_REPLY_ACK). */
    boolean needsReply() {
        return (flags & FLAG_NEED_REPLY) != 0;
    }

    /** Sends the reply payload the handler wrote. */
    void sendReply() throws ErrnoException {
        send(replySize);
    }

    /** Sends the REPLY_ACK answer: a u64, 0 for success. */
    void sendAck() throws ErrnoException {
        NativeMemory.putLong(payload, failed ? 1 : 0);
        send(8);
    }

    private void send(int payloadSize) throws ErrnoException {
        NativeMemory.putInt(buf, request);
        NativeMemory.putInt(buf + 4, VERSION | FLAG_REPLY);
        NativeMemory.putInt(buf + 8, payloadSize);
        socket.send(buf, HEADER_SIZE + payloadSize, fds, 0);
    }

    /** Fd {@code i} of the message. */
    int fd(int i) {
        return fds[i];
    }

    /** Closes the fds the handler did not keep. */
    void closeUnkeptFds() {
        closeFds(keptFds);
    }

    private void closeFds(int from) {
        for (int i = from; i < fds.length; i++) {
            if (fds[i] >= 0) {
                Linux.close(fds[i]);
                fds[i] = -1;
            }
        }
    }

    void expectSize(int expected) throws ErrnoException {
        if (size != expected) {
            throw malformed();
        }
    }

    ErrnoException malformed() {
        return ErrnoException.of(Errno.EINVAL, "bad payload size " + size + " for " + name(request));
    }

    long u64(int offset) {
        return NativeMemory.getLong(payload + offset);
    }

    int u32(int offset) {
        return NativeMemory.getInt(payload + offset);
    }

    void replyU64(long v) {
        NativeMemory.putLong(payload, v);
        hasReply = true;
        replySize = 8;
    }

    void free() {
        NativeMemory.free(buf);
    }
}
