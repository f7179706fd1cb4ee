package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.fuse.internal.FuseProtocol.*;

import dev.virtiofsd.api.fs.FileSystem;
import dev.virtiofsd.api.fs.SingleSegment;
import dev.virtiofsd.api.transport.FuseWorker;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compiles the request path while the transport waits for its first request: a guest boots for
 * seconds after its daemon listens, and would otherwise meet interpreted code and compiler threads
 * busy with its first thousands of requests. A background thread sends FUSE requests of the
 * create/cat/rm kind through a worker of a private session to the real filesystem, until a session
 * of the server opens (a client's first request) or a number of rounds is done.
 *
 * <p>What it touches stays out of everyone's sight. Each round makes an unnamed file in the share's
 * root (TMPFILE: O_TMPFILE, no directory entry, nothing a guest or a host path can name), writes,
 * reads and releases it, and FORGETs it, which closes its last fd and frees it. The requests that
 * need a name (LOOKUP, CREATE, UNLINK) name a child of that regular file, which the host kernel
 * refuses with ENOTDIR before it looks at any name. The session never sees INIT or DESTROY, so the
 * filesystem's negotiated state and its other clients' inodes are left alone; it is not the
 * server's, so it shows in no statistics. When TMPFILE fails (read-only share, a filesystem without
 * O_TMPFILE, no permission) it stops after that request.
 */
final class WarmUp implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(WarmUp.class);

    /** System property: rounds of warm-up at most (about 11 requests each); 0 turns it off. */
    static final String ROUNDS_PROPERTY = "virtiofsd.warmup.rounds";
    /** Enough for the C2 compiler's default thresholds on the per-operation handlers. */
    static final int DEFAULT_ROUNDS = 0;

    /** The name asked for under the regular file: never looked at (ENOTDIR). */
    private static final byte[] NAME = "warm-up\0".getBytes(StandardCharsets.US_ASCII);

    private static final int DATA = 64;
    private static final int IN_CAPACITY = IN_HEADER + WRITE_IN + DATA;
    private static final int OUT_CAPACITY = OUT_HEADER + ENTRY_OUT + OPEN_OUT + 4096;

    private final FuseWorker worker;
    private final int rounds;
    private final long in;
    private final long out;
    private final SingleSegment inList;
    private final SingleSegment outList;

    private volatile boolean stop;
    private long unique = 1;

    WarmUp(FuseServerImpl server, FileSystem fs, int rounds) {
        // Not the server's session (no statistics), never INIT (the filesystem's negotiation is the
        // client's), never closed (closing would destroy the filesystem's state): dropped when done.
        FuseSessionImpl session = new FuseSessionImpl(server, fs, FuseServerImpl.MIN_MAX_WRITE * 32);
        session.initDone(37, 0); // as Linux 6.1, no optional flags
        this.worker = session.newWorker();
        this.rounds = rounds;
        this.in = NativeMemory.allocate(IN_CAPACITY);
        this.out = NativeMemory.allocate(OUT_CAPACITY);
        this.inList = new SingleSegment(in, 0);
        this.outList = new SingleSegment(out, OUT_CAPACITY);
    }

    /** Rounds to run from the system property, default {@link #DEFAULT_ROUNDS}. */
    static int configuredRounds() {
        String v = System.getProperty(ROUNDS_PROPERTY);
        if (v == null || v.isBlank()) {
            return DEFAULT_ROUNDS;
        }
        try {
            return Math.max(0, Integer.parseInt(v.trim()));
        } catch (NumberFormatException e) {
            LOG.warn("{}={}: not a number; no warm-up", ROUNDS_PROPERTY, v);
            return 0;
        }
    }

    /** Stops after the request in hand (and the releases it owes); returns at once. */
    void stop() {
        stop = true;
    }

    @Override
    public void run() {
        long t0 = System.nanoTime();
        int roundsDone = 0;
        try {
            while (!stop && roundsDone < rounds) {
                if (!round()) {
                    break;
                }
                roundsDone++;
            }
        } catch (RuntimeException e) {
            LOG.debug("warm-up ended: {}", e.toString());
        } finally {
            NativeMemory.free(in);
            NativeMemory.free(out);
        }
        LOG.debug(
                "warm-up: {} rounds in {} ms{}",
                roundsDone,
                (System.nanoTime() - t0) / 1_000_000,
                stop ? " (stopped by the first session)" : "");
    }

    /** One round; false when the unnamed file cannot be made (nothing to release then). */
    private boolean round() {
        // TMPFILE in the root: an unnamed regular file, open for writing (entry + open reply)
        begin(TMPFILE, FileSystem.ROOT_ID);
        putInt(Linux.O_RDWR).putInt(Linux.S_IFREG | 0600).putInt(0).putInt(0);
        putBytes(new byte[] {'/', 0});
        if (send() != 0) {
            return false;
        }
        long node = NativeMemory.getLong(out + OUT_HEADER);
        long fh = NativeMemory.getLong(out + OUT_HEADER + ENTRY_OUT);
        try {
            // the create phase: LOOKUP of a name that is not there, CREATE, WRITE, FLUSH, RELEASE
            named(LOOKUP, node);
            if (stop) {
                return true;
            }
            begin(CREATE, node);
            putInt(Linux.O_WRONLY | Linux.O_CREAT | Linux.O_TRUNC)
                    .putInt(Linux.S_IFREG | 0644)
                    .putInt(022)
                    .putInt(0);
            putBytes(NAME);
            send();
            if (stop) {
                return true;
            }
            write(node, fh);
            flush(node, fh);
            if (stop) {
                return true;
            }
            // a stat, then the cat phase: OPEN, READ, FLUSH, RELEASE
            begin(GETATTR, node);
            putInt(0).putInt(0).putLong(0);
            send();
            begin(OPEN, node);
            putInt(Linux.O_RDONLY).putInt(0);
            if (send() == 0) {
                long rfh = NativeMemory.getLong(out + OUT_HEADER);
                begin(READ, node);
                putLong(rfh)
                        .putLong(0)
                        .putInt(4096)
                        .putInt(0)
                        .putLong(0)
                        .putInt(Linux.O_RDONLY)
                        .putInt(0);
                send();
                flush(node, rfh);
                release(node, rfh);
            }
            if (stop) {
                return true;
            }
            // the rm phase: UNLINK (of a name under a regular file: ENOTDIR)
            named(UNLINK, node);
        } finally {
            // owed even when stopped: the file goes with its last fd
            release(node, fh);
            begin(FORGET, node);
            putLong(1);
            send();
        }
        return true;
    }

    private void write(long node, long fh) {
        begin(WRITE, node);
        putLong(fh)
                .putLong(0)
                .putInt(DATA)
                .putInt(0)
                .putLong(0)
                .putInt(Linux.O_RDWR)
                .putInt(0);
        NativeMemory.fill(append(DATA), DATA, (byte) 'w');
        send();
    }

    private void flush(long node, long fh) {
        begin(FLUSH, node);
        putLong(fh).putInt(0).putInt(0).putLong(0);
        send();
    }

    private void release(long node, long fh) {
        begin(RELEASE, node);
        putLong(fh).putInt(Linux.O_RDWR).putInt(0).putLong(0);
        send();
    }

    private void named(int opcode, long parent) {
        begin(opcode, parent);
        putBytes(NAME);
        send();
    }

    // ---- request building -------------------------------------------------------------------

    private void begin(int opcode, long nodeId) {
        NativeMemory.putInt(in + 4, opcode);
        NativeMemory.putLong(in + 8, unique++);
        NativeMemory.putLong(in + 16, nodeId);
        NativeMemory.putInt(in + 24, 0); // uid: root, as a guest's root user
        NativeMemory.putInt(in + 28, 0); // gid
        NativeMemory.putInt(in + 32, 0); // pid
        NativeMemory.putInt(in + 36, 0);
        inList.setLength(IN_HEADER);
    }

    /** Grows the request by {@code bytes}; returns where they go. */
    private long append(int bytes) {
        int at = inList.length(0);
        inList.setLength(at + bytes);
        return in + at;
    }

    private WarmUp putInt(int v) {
        NativeMemory.putInt(append(4), v);
        return this;
    }

    private WarmUp putLong(long v) {
        NativeMemory.putLong(append(8), v);
        return this;
    }

    private void putBytes(byte[] b) {
        NativeMemory.putBytes(append(b.length), b, 0, b.length);
    }

    /** Sends the request built; returns the reply's error (0, -errno), or 0 for no reply. */
    private int send() {
        NativeMemory.putInt(in, inList.length(0));
        int n = worker.handle(inList, outList);
        return n >= OUT_HEADER ? NativeMemory.getInt(out + 4) : 0;
    }
}
