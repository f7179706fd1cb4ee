package dev.virtiofsd.it.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.virtiofsd.api.fs.SegmentList;
import dev.virtiofsd.api.transport.FuseSession;
import dev.virtiofsd.api.transport.FuseWorker;
import dev.virtiofsd.frontend.OpenFds;
import dev.virtiofsd.fuse.internal.FuseServerImpl;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.Statx;
import dev.virtiofsd.passthrough.internal.PassthroughFileSystem;
import dev.virtiofsd.passthrough.internal.PassthroughOptions;
import dev.virtiofsd.strategy.fd.internal.FdStrategy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.slf4j.LoggerFactory;

/**
 * Coverage-guided fuzzing of the FUSE decoder plus the passthrough filesystem: every input is a
 * sequence of raw FUSE requests (any opcode, node id, header length, body bytes, reply space, split
 * over several segments) served by a fresh dispatcher and filesystem on a fresh tree inside a small
 * tmpfs (so that no request can fill a real disk; nothing outside it is ever touched).
 *
 * <p>Checked for every request: a reply fits its space and carries the request's unique, a
 * {@code -errno} in range and a length equal to what was written; nothing escapes as an internal
 * error. After every input: once the session and filesystem are closed, this process has no fd left
 * inside the share (every fd had an owner that closed it), and nothing was created beside the share.
 *
 * <p>{@code mvn verify} replays the committed corpus ({@code FuseFuzzTestInputs/}); with
 * {@code JAZZER_FUZZ=1} Jazzer fuzzes (see README, "Fuzzing").
 */
class FuseFuzzTest {
    static final int IN_HEADER = 40;
    static final int INIT = 26;
    static final int MKNOD = 8;
    static final int SETLK = 32;
    static final int SETLKW = 33;
    static final int S_IFMT = 0170000;
    static final int S_IFCHR = 0020000;
    static final int S_IFBLK = 0060000;
    static final int MAX_BODY = 8192;
    static final int MAX_OUT = 70 * 1024;

    private static Path base;
    private static Path tmpfs;
    private static long inBuf;
    private static long outBuf;
    private static ListAppender<ILoggingEvent> problems;
    private static long runs;

    @BeforeAll
    static void mountTmpfs() throws Exception {
        base = Files.createTempDirectory("fuse-fuzz");
        tmpfs = Files.createDirectory(base.resolve("tmpfs"));
        Process p = new ProcessBuilder(
                        "mount", "-t", "tmpfs", "-o", "size=16m,nr_inodes=4096", "fuzz", tmpfs.toString())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        // Root is needed (as for the kernel tests): the share must be a small tmpfs, never a real disk.
        assertEquals(0, p.waitFor(), "mount tmpfs for the fuzzed share: " + out);
        inBuf = NativeMemory.allocate(IN_HEADER + MAX_BODY);
        outBuf = NativeMemory.allocate(MAX_OUT);
        problems = new ListAppender<>();
        problems.start();
        // Only what the dispatcher says when something other than an errno escaped (a bug): WARN
        // lines such as an old kernel's INIT refusal are answers, not findings.
        problems.addFilter(new ch.qos.logback.core.filter.Filter<ILoggingEvent>() {
            @Override
            public ch.qos.logback.core.spi.FilterReply decide(ILoggingEvent e) {
                String m = e.getFormattedMessage();
                boolean bug = e.getLevel().isGreaterOrEqual(Level.ERROR)
                        || m.startsWith("internal error")
                        || ((m.contains(" failed: ") || m.contains("filesystem returned"))
                                && e.getLoggerName().endsWith("FuseWorkerImpl"));
                return bug ? ch.qos.logback.core.spi.FilterReply.NEUTRAL : ch.qos.logback.core.spi.FilterReply.DENY;
            }
        });
        for (String name : List.of("dev.virtiofsd.fuse", "dev.virtiofsd.passthrough")) {
            Logger l = (Logger) LoggerFactory.getLogger(name);
            l.addAppender(problems);
            l.setLevel(Level.WARN);
            l.setAdditive(false);
        }
    }

    @AfterAll
    static void unmount() throws Exception {
        new ProcessBuilder("umount", "-l", tmpfs.toString()).start().waitFor();
        Files.deleteIfExists(tmpfs);
        Files.deleteIfExists(base);
        NativeMemory.free(inBuf);
        NativeMemory.free(outBuf);
        System.out.println("FuseFuzzTest: " + runs + " inputs");
    }

    /** Reads the input as little-endian fields; past its end every field is 0. */
    static final class Input {
        final ByteBuffer b;

        Input(byte[] data) {
            b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        }

        boolean more() {
            return b.hasRemaining();
        }

        int u8() {
            return b.hasRemaining() ? b.get() & 0xff : 0;
        }

        int u16() {
            return u8() | u8() << 8;
        }

        long u64() {
            long v = 0;
            for (int i = 0; i < 8; i++) {
                v |= (long) u8() << (8 * i);
            }
            return v;
        }

        byte[] bytes(int n) {
            byte[] out = new byte[Math.min(n, b.remaining())];
            b.get(out);
            return out;
        }
    }

    /** Up to three segments over one native buffer, split where the input says. */
    static final class Segs implements SegmentList {
        final long[] addr = new long[3];
        final int[] len = new int[3];
        int n;

        Segs over(long base, int total, int cut1, int cut2) {
            int a = total == 0 ? 0 : cut1 % (total + 1);
            int b = total == 0 ? 0 : cut2 % (total + 1);
            int lo = Math.min(a, b);
            int hi = Math.max(a, b);
            n = 0;
            add(base, lo);
            add(base + lo, hi - lo);
            add(base + hi, total - hi);
            return this;
        }

        private void add(long a, int l) {
            if (l > 0 || n == 0) {
                addr[n] = a;
                len[n++] = l;
            }
        }

        @Override
        public int count() {
            return n;
        }

        @Override
        public long address(int i) {
            return addr[i];
        }

        @Override
        public int length(int i) {
            return len[i];
        }
    }

    @FuzzTest(maxDuration = "130m", maxExecutions = 1_000_000)
    void requests(byte[] data) throws Exception {
        runs++;
        problems.list.clear();
        Path share = Files.createDirectory(tmpfs.resolve("share"));
        Set<String> fdsBefore = OpenFds.snapshot();
        try {
            populate(share);
            PassthroughFileSystem fs = new PassthroughFileSystem(PassthroughOptions.of(share), new FdStrategy());
            FuseServerImpl server = new FuseServerImpl(fs);
            FuseSession session = server.openSession(1 << 20);
            try {
                FuseWorker worker = session.newWorker();
                Segs in = new Segs();
                Segs out = new Segs();
                long unique = 1;
                serve(worker, in, out, INIT, 0, initBody(), 16 + 64, unique++, 0);
                for (String n : new String[] {"a", "d", "l", "p", "c"}) {
                    serve(worker, in, out, 1, 1, name(n), 16 + 128, unique++, 0); // LOOKUP: node ids 2..6
                }
                Input r = new Input(data);
                int requests = 0;
                while (r.more() && requests++ < 64) {
                    int opcode = r.u8() & 0x3f;
                    int nodeSel = r.u8();
                    long node = nodeSel < 200 ? nodeSel % 12 : r.u64();
                    int flags = r.u8();
                    byte[] body = r.bytes(Math.min(r.u16(), MAX_BODY));
                    int outCap = Math.min(r.u16() * 4, MAX_OUT);
                    int cuts = r.u16();
                    if (opcode == SETLKW) {
                        opcode = SETLK; // a sleeping lock would wait for this very thread; the transports run it apart
                    }
                    if (opcode == MKNOD && body.length >= 8) {
                        safeDevice(body);
                    }
                    serveRaw(worker, in, out, opcode, node, body, outCap, unique++, flags, cuts);
                }
            } finally {
                session.close();
                fs.close();
            }
            // New fds (as sets, never a count: the JVM's own come and go) that name something in the share.
            String prefix = share.toString();
            List<String> inside = OpenFds.since(fdsBefore).stream()
                    .filter(fd -> OpenFds.target(fd).startsWith(prefix))
                    .collect(Collectors.toList());
            if (!inside.isEmpty()) {
                fail("fds left open inside the share after close: " + inside);
            }
            try (Stream<Path> s = Files.list(tmpfs)) {
                List<Path> beside = s.filter(p -> !p.equals(share)).collect(Collectors.toList());
                if (!beside.isEmpty()) {
                    fail("created beside the share: " + beside);
                }
            }
            if (!problems.list.isEmpty()) {
                fail("internal errors: "
                        + problems.list.stream()
                                .map(ILoggingEvent::getFormattedMessage)
                                .collect(Collectors.toList()));
            }
        } finally {
            deleteTree(share);
        }
    }

    /** The same small tree for every input: a file, a directory, a symlink, a FIFO and /dev/null's device number. */
    private static void populate(Path share) throws Exception {
        Files.writeString(share.resolve("a"), "alpha");
        Files.createDirectory(share.resolve("d"));
        Files.writeString(share.resolve("d/b"), "beta");
        Files.createSymbolicLink(share.resolve("l"), Paths.get("a"));
        mknod(share.resolve("p"), 0010644, 0);
        mknod(share.resolve("c"), S_IFCHR | 0644, Statx.makedev(1, 3));
    }

    private static void mknod(Path p, int mode, long dev) throws Exception {
        long path = NativeMemory.allocate(4096);
        try {
            NativeMemory.putString(path, p.toString());
            Linux.mknodat(Linux.AT_FDCWD, path, mode, dev);
        } finally {
            NativeMemory.free(path);
        }
    }

    /** MKNOD of a device may only make /dev/null's number (1, 3): the fuzzer must not own the host's disks. */
    private static void safeDevice(byte[] body) {
        ByteBuffer b = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN);
        int mode = b.getInt(0);
        int type = mode & S_IFMT;
        if (type == S_IFCHR || type == S_IFBLK) {
            b.putInt(0, (mode & ~S_IFMT) | S_IFCHR);
            b.putInt(4, (1 << 8) | 3);
        } else if (type != 0100000 && type != 0010000 && type != 0140000) {
            b.putInt(4, 0);
        }
    }

    private static byte[] initBody() {
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(7).putInt(37).putInt(1 << 20).putInt(0xffffffff);
        return b.array();
    }

    private static byte[] name(String n) {
        byte[] s = n.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] out = new byte[s.length + 1];
        System.arraycopy(s, 0, out, 0, s.length);
        return out;
    }

    private static void serve(
            FuseWorker w, Segs in, Segs out, int opcode, long node, byte[] body, int outCap, long unique, int flags) {
        serveRaw(w, in, out, opcode, node, body, outCap, unique, flags | 1, 0);
    }

    /** One request; checks the reply it gets. Flag bit 0: the header's len is the real length (else 0x7fffffff-ish garbage). */
    private static void serveRaw(
            FuseWorker w,
            Segs in,
            Segs out,
            int opcode,
            long node,
            byte[] body,
            int outCap,
            long unique,
            int flags,
            int cuts) {
        int len = IN_HEADER + body.length;
        long h = inBuf;
        NativeMemory.putInt(h, (flags & 1) != 0 ? len : len + ((flags >>> 4) - 8));
        NativeMemory.putInt(h + 4, opcode);
        NativeMemory.putLong(h + 8, unique);
        NativeMemory.putLong(h + 16, node);
        int id = (flags & 2) != 0 ? 1000 : 0;
        NativeMemory.putInt(h + 24, id);
        NativeMemory.putInt(h + 28, id);
        NativeMemory.putInt(h + 32, 4242);
        NativeMemory.putInt(h + 36, (flags & 4) != 0 ? 0x10000 : 0);
        NativeMemory.putBytes(h + IN_HEADER, body, 0, body.length);
        NativeMemory.fill(outBuf, outCap, (byte) 0);
        in.over(inBuf, len, cuts & 0xff, cuts >>> 8);
        out.over(outBuf, outCap, cuts >>> 4, outCap / 2);
        int r = w.handle(in, out);
        if (r == 0) {
            return;
        }
        assertTrue(r >= 16 && r <= outCap, "reply of " + r + " bytes in " + outCap + " for opcode " + opcode);
        assertEquals(r, NativeMemory.getInt(outBuf), "out.len is the reply length");
        int error = NativeMemory.getInt(outBuf + 4);
        assertTrue(error <= 0 && error > -4096, "error " + error);
        assertTrue(error == 0 || r == 16, "an error reply has no body");
        assertEquals(unique, NativeMemory.getLong(outBuf + 8), "unique echoed");
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
                Files.deleteIfExists(q);
            }
        }
    }
}
