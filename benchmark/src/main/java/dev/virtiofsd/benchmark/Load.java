package dev.virtiofsd.benchmark;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.frontend.Fuse;
import dev.virtiofsd.frontend.FuseReply;
import dev.virtiofsd.frontend.VhostUserFrontend;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Drives one connected daemon with one workload at a fixed number of requests in flight on request
 * queue 1, as fast as the daemon answers. Each in-flight "lane" runs one operation (which may be
 * several dependent requests, e.g. OPEN + READ + RELEASE) after the other; a lane submits its next
 * request as soon as the previous reply is in.
 *
 * <p>Built on the front end's public submit/awaitAny/await. Those copy each reply into a new
 * byte[], which costs the load generator time (most for 1 MiB READ); it is the same for both
 * daemons, but it compresses ratios towards 1.0 on the 1 MiB rows.
 */
final class Load {
    static final int O_RDONLY = 0;
    static final int O_WRONLY = 1;
    static final int O_RDWR = 2;
    static final int O_CREAT = 0100;
    static final int O_EXCL = 0200;
    static final int S_IFREG_0644 = 0100644;
    static final int MIB = 1 << 20;
    /** READDIRPLUS buffer per request: one page, what Linux 6.1's fuse_readdir asks for. */
    static final int READDIR_BUF = 4096;

    /** The shared directory layout every workload uses (made by {@link Benchmark#prepareSharedDir}). */
    static final String SMALL_FILE = "small-4k";

    static final String READ_FILE = "read-8m";
    static final String WRITE_FILE = "write-8m";
    static final String BIG_DIR = "dir-1000";
    static final String CREATE_DIR = "create";
    static final String MANY_DIR = "many";
    static final int FILE_MIB = 8;

    enum Workload {
        LOOKUP("LOOKUP existing name", false),
        GETATTR("GETATTR", false),
        OPEN_READ_RELEASE("OPEN + READ 4 KiB + RELEASE", false),
        READ_1M("READ 1 MiB", true),
        WRITE_1M("WRITE 1 MiB", true),
        CREATE_RELEASE_UNLINK("CREATE + RELEASE + UNLINK", false),
        READDIRPLUS("READDIRPLUS 1,000 entries (OPENDIR..RELEASEDIR)", false);

        final String title;
        /** Reported in MiB/s (1 MiB per op) instead of ops/s. */
        final boolean mibPerSecond;

        Workload(String title, boolean mib) {
            this.title = title;
            this.mibPerSecond = mib;
        }
    }

    /** Node ids and handles every workload needs, looked up once per connection. */
    static final class Targets {
        long smallFile;
        long readFile;
        long readFh;
        long writeFile;
        long writeFh;
        long bigDir;
        long createDir;
        byte[] lookupRequest;
        byte[] getattrRequest;
        byte[][] readRequests;
        byte[][] writeRequests;
    }

    private final VhostUserFrontend fe;
    private final Fuse fuse;
    private final Targets t = new Targets();
    private final List<Long> createdNodes = new ArrayList<>();
    private long createSerial;

    Load(VhostUserFrontend fe) {
        this.fe = fe;
        this.fuse = fe.fuse();
    }

    /** Front-end settings big enough for 64 slots of 1 MiB + header each way. */
    static VhostUserFrontend.Options frontendOptions(boolean bigBuffers) {
        VhostUserFrontend.Options o = new VhostUserFrontend.Options();
        o.queueSize = 256;
        o.slots = 64;
        o.requestQueues = 1;
        o.eventIdx = true;
        o.bufferSize = bigBuffers ? MIB + 4096 : 16 << 10;
        o.memorySize = bigBuffers ? 512L << 20 : 64L << 20;
        return o;
    }

    /** FUSE INIT, then looks up and opens everything the workloads use. */
    void setUp() throws ErrnoException {
        check(fe.init(), "INIT");
        t.smallFile =
                check(fe.lookup(Fuse.ROOT, SMALL_FILE), "LOOKUP " + SMALL_FILE).nodeId();
        t.readFile =
                check(fe.lookup(Fuse.ROOT, READ_FILE), "LOOKUP " + READ_FILE).nodeId();
        t.writeFile =
                check(fe.lookup(Fuse.ROOT, WRITE_FILE), "LOOKUP " + WRITE_FILE).nodeId();
        t.bigDir = check(fe.lookup(Fuse.ROOT, BIG_DIR), "LOOKUP " + BIG_DIR).nodeId();
        t.createDir =
                check(fe.lookup(Fuse.ROOT, CREATE_DIR), "LOOKUP " + CREATE_DIR).nodeId();
        t.readFh = check(fe.open(t.readFile, O_RDONLY), "OPEN " + READ_FILE).fh();
        t.writeFh = check(fe.open(t.writeFile, O_RDWR), "OPEN " + WRITE_FILE).fh();
        // Requests that never change are built once and resubmitted as they are (the daemons do not
        // care that a unique repeats once its reply is out).
        t.lookupRequest = fuse.lookup(Fuse.ROOT, SMALL_FILE);
        t.getattrRequest = fuse.getattr(t.smallFile);
        t.readRequests = new byte[FILE_MIB][];
        t.writeRequests = new byte[FILE_MIB][];
        byte[] data = new byte[MIB];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31 + 7);
        }
        for (int i = 0; i < FILE_MIB; i++) {
            t.readRequests[i] = fuse.read(t.readFile, t.readFh, (long) i * MIB, MIB);
            t.writeRequests[i] = fuse.write(t.writeFile, t.writeFh, (long) i * MIB, data);
        }
    }

    /** One lane's operation in progress. */
    private static final class Lane {
        int step;
        long node;
        long fh;
        long offset;
        int entries;
        String name;
        long serial;
    }

    /** Result of one measured window. */
    record Window(long ops, long nanos) {
        double perSecond() {
            return ops * 1e9 / nanos;
        }
    }

    /**
     * Runs {@code w} with {@code depth} lanes for {@code nanos}; returns completed operations and the
     * window length. Operations still in flight at the deadline are drained and not counted.
     */
    Window run(Workload w, int depth, long nanos) throws ErrnoException {
        Window win = measure(w, depth, nanos);
        forgetCreated();
        return win;
    }

    /**
     * As {@link #run} but leaves the last created inodes (fewer than a batch) to {@link
     * #forgetCreated}: the caller reads the daemon's CPU time in between. Full batches are
     * forgotten inside the window, as a guest kernel would, so both daemons pay for them.
     */
    Window measure(Workload w, int depth, long nanos) throws ErrnoException {
        Lane[] laneOfTicket = new Lane[64];
        long start = System.nanoTime();
        long deadline = start + nanos;
        long ops = 0;
        int inFlight = 0;
        for (int i = 0; i < depth; i++) {
            Lane lane = new Lane();
            begin(w, lane, i);
            laneOfTicket[submit(w, lane)] = lane;
            inFlight++;
        }
        long lastDone = start;
        while (inFlight > 0) {
            int ticket = fe.awaitAny(1, 10_000);
            if (ticket < 0) {
                throw new IllegalStateException(w + ": no reply within 10 s (" + inFlight + " in flight)");
            }
            FuseReply r = fe.await(1, ticket, 1_000);
            inFlight--;
            Lane lane = laneOfTicket[ticket];
            boolean opDone = advance(w, lane, r);
            if (createdNodes.size() >= FORGET_BATCH) {
                // As the kernel does once an unlinked file's last reference is gone: without it a
                // daemon that holds an fd per inode runs out of fds (ENFILE) in a long window.
                forgetCreated();
            }
            long now = System.nanoTime();
            if (opDone) {
                if (now <= deadline || ops < depth) {
                    // The window lasts until at least one operation per lane is done: operations
                    // of many requests started together (64 READDIRPLUS listings) end together, and
                    // a window that closed before the first of them would count one, not 64.
                    ops++;
                    lastDone = now;
                } else {
                    continue; // drain: do not start new operations after the deadline
                }
                begin(w, lane, -1);
            }
            laneOfTicket[submit(w, lane)] = lane;
            inFlight++;
        }
        return new Window(ops, Math.max(1, lastDone - start));
    }

    private void begin(Workload w, Lane lane, int index) {
        lane.step = 0;
        lane.offset = 0;
        lane.entries = 0;
        if (index >= 0) {
            lane.serial = index;
        }
        if (w == Workload.CREATE_RELEASE_UNLINK) {
            lane.name = "c" + createSerial++;
        }
    }

    private int submit(Workload w, Lane l) throws ErrnoException {
        switch (w) {
            case LOOKUP:
                return fe.submit(1, t.lookupRequest, 16 + 128);
            case GETATTR:
                return fe.submit(1, t.getattrRequest, 16 + 104);
            case OPEN_READ_RELEASE:
                switch (l.step) {
                    case 0:
                        return fe.submit(1, fuse.open(t.smallFile, O_RDONLY), 16 + 16);
                    case 1:
                        return fe.submit(1, fuse.read(t.smallFile, l.fh, 0, 4096), 16 + 4096);
                    default:
                        return fe.submit(1, fuse.release(t.smallFile, l.fh), 16);
                }
            case READ_1M:
                return fe.submit(1, t.readRequests[(int) (l.serial++ % FILE_MIB)], 16 + MIB);
            case WRITE_1M:
                return fe.submit(1, t.writeRequests[(int) (l.serial++ % FILE_MIB)], 16 + 8);
            case CREATE_RELEASE_UNLINK:
                switch (l.step) {
                    case 0:
                        return fe.submit(
                                1,
                                fuse.create(t.createDir, l.name, S_IFREG_0644, O_CREAT | O_EXCL | O_WRONLY),
                                16 + 128 + 16);
                    case 1:
                        return fe.submit(1, fuse.release(l.node, l.fh), 16);
                    default:
                        return fe.submit(1, fuse.unlink(t.createDir, l.name), 16);
                }
            case READDIRPLUS:
                switch (l.step) {
                    case 0:
                        return fe.submit(1, fuse.opendir(t.bigDir), 16 + 16);
                    case 1:
                        return fe.submit(1, fuse.readdirplus(t.bigDir, l.fh, l.offset, READDIR_BUF), 16 + READDIR_BUF);
                    default:
                        return fe.submit(1, fuse.releasedir(t.bigDir, l.fh), 16);
                }
            default:
                throw new IllegalArgumentException(w.toString());
        }
    }

    /** Takes a reply; true when the lane's operation is complete. */
    private boolean advance(Workload w, Lane l, FuseReply r) {
        if (r.error() != 0) {
            throw new IllegalStateException(w + " step " + l.step + ": errno " + -r.error());
        }
        switch (w) {
            case LOOKUP:
            case GETATTR:
            case WRITE_1M:
                return true;
            case READ_1M:
                if (r.usedLength() != 16 + MIB) {
                    throw new IllegalStateException("READ 1 MiB returned " + r.usedLength() + " bytes");
                }
                return true;
            case OPEN_READ_RELEASE:
                if (l.step == 0) {
                    l.fh = r.fh();
                } else if (l.step == 1 && r.usedLength() != 16 + 4096) {
                    throw new IllegalStateException("READ 4 KiB returned " + r.usedLength() + " bytes");
                }
                return ++l.step == 3;
            case CREATE_RELEASE_UNLINK:
                if (l.step == 0) {
                    l.node = r.nodeId();
                    l.fh = r.createFh();
                    createdNodes.add(l.node);
                }
                return ++l.step == 3;
            case READDIRPLUS:
                if (l.step == 0) {
                    l.fh = r.fh();
                    l.step = 1;
                    return false;
                }
                if (l.step == 1) {
                    ByteBuffer b = r.body();
                    if (b.remaining() == 0) {
                        if (l.entries < 1000) {
                            throw new IllegalStateException("READDIRPLUS listed " + l.entries + " entries");
                        }
                        l.step = 2;
                        return false;
                    }
                    // fuse_direntplus: entry_out (128) + dirent (ino, off, namelen, type, name padded to 8).
                    while (b.remaining() >= 152) {
                        int p = b.position();
                        long off = b.getLong(p + 128 + 8);
                        int namelen = b.getInt(p + 128 + 16);
                        l.offset = off;
                        l.entries++;
                        b.position(p + 152 + ((namelen + 7) & ~7));
                    }
                    return false;
                }
                return true;
            default:
                throw new IllegalArgumentException(w.toString());
        }
    }

    /** Created-then-unlinked inodes forgotten at once, inside the window (BATCH_FORGET). */
    static final int FORGET_BATCH = 512;

    /** FORGETs the created-then-unlinked inodes, in batches of {@link #FORGET_BATCH}. */
    @SuppressWarnings("ByteBufferBackingArray") // Fuse.body() is ByteBuffer.allocate: offset 0
    void forgetCreated() throws ErrnoException {
        int i = 0;
        while (i < createdNodes.size()) {
            int n = Math.min(FORGET_BATCH, createdNodes.size() - i);
            ByteBuffer body = Fuse.body(8 + 16 * n).putInt(n).putInt(0);
            for (int k = 0; k < n; k++) {
                body.putLong(createdNodes.get(i + k)).putLong(1);
            }
            int ticket = fe.submit(0, fuse.request(Fuse.BATCH_FORGET, 0, body.array()), 0);
            if (fe.await(0, ticket, 10_000) == null) {
                throw new IllegalStateException("BATCH_FORGET not returned to the used ring");
            }
            i += n;
        }
        createdNodes.clear();
    }

    /**
     * LOOKUPs {@code count} distinct names of the many-files directory, 64 in flight, no FORGET.
     * Returns how many failed with EMFILE/ENFILE: a daemon that holds one fd per inode runs out
     * when RLIMIT_NOFILE is below the file count (and cannot be raised without CAP_SYS_RESOURCE).
     */
    static int lookupMany(VhostUserFrontend fe, int count) throws ErrnoException {
        return lookupMany(fe, count, true);
    }

    /** As above; {@code init}: send FUSE INIT first (false when the caller did). */
    static int lookupMany(VhostUserFrontend fe, int count, boolean init) throws ErrnoException {
        if (init) {
            check(fe.init(), "INIT");
        }
        long dir = check(fe.lookup(Fuse.ROOT, MANY_DIR), "LOOKUP " + MANY_DIR).nodeId();
        Fuse fuse = fe.fuse();
        int next = 0;
        int inFlight = 0;
        int outOfFds = 0;
        while (next < count && inFlight < 64) {
            fe.submit(1, fuse.lookup(dir, manyName(next++)), 16 + 128);
            inFlight++;
        }
        while (inFlight > 0) {
            int ticket = fe.awaitAny(1, 10_000);
            if (ticket < 0) {
                throw new IllegalStateException("LOOKUP of many files: no reply within 10 s");
            }
            FuseReply r = fe.await(1, ticket, 1_000);
            inFlight--;
            if (r.error() == -23 || r.error() == -24) {
                outOfFds++;
            } else {
                check(r, "LOOKUP many/*");
            }
            if (next < count) {
                fe.submit(1, fuse.lookup(dir, manyName(next++)), 16 + 128);
                inFlight++;
            }
        }
        return outOfFds;
    }

    static String manyName(int i) {
        return String.format("m%06d", i);
    }

    static FuseReply check(FuseReply r, String what) {
        if (r.error() != 0) {
            throw new IllegalStateException(what + ": errno " + -r.error());
        }
        return r;
    }
}
