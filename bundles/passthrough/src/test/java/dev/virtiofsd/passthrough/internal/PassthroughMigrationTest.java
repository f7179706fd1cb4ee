package dev.virtiofsd.passthrough.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.AttrOut;
import dev.virtiofsd.api.fs.EntryOut;
import dev.virtiofsd.api.fs.FileSystem;
import dev.virtiofsd.api.fs.OpenOut;
import dev.virtiofsd.api.fs.RequestContext;
import dev.virtiofsd.api.fs.SingleSegment;
import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.strategy.fd.internal.FdStrategy;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The passthrough's migration state without a VM: a source filesystem saves, a second one on the
 * same directory loads, and the client's node ids and fhs go on working there. Host-side changes in
 * between give the policy's outcome, and a lying state (paths out of the share, truncated, duplicate
 * ids) is refused without touching anything.
 */
class PassthroughMigrationTest {
    @TempDir
    Path dir;

    private final RequestContext root = new RequestContext().set(1, 0, 0, 1);
    private final List<Long> allocations = new ArrayList<>();
    private final List<PassthroughFileSystem> all = new ArrayList<>();
    private PassthroughFileSystem source;

    @BeforeEach
    void setUp() throws Exception {
        Files.createDirectories(dir.resolve("share/a/b"));
        Files.writeString(dir.resolve("share/a/b/f"), "hello");
        Files.writeString(dir.resolve("share/a/g"), "gee");
        Files.writeString(dir.resolve("outside"), "secret");
        source = fs(MigrationOptions.DEFAULTS);
    }

    @AfterEach
    void tearDown() {
        all.forEach(PassthroughFileSystem::close);
        allocations.forEach(NativeMemory::free);
    }

    private PassthroughFileSystem fs(MigrationOptions o) throws ErrnoException {
        PassthroughFileSystem f =
                new PassthroughFileSystem(PassthroughOptions.of(dir.resolve("share")), new FdStrategy());
        f.migrationOptions(o);
        all.add(f);
        return f;
    }

    private long name(String s) {
        long a = NativeMemory.allocate(s.getBytes(StandardCharsets.UTF_8).length + 1);
        NativeMemory.putString(a, s);
        allocations.add(a);
        return a;
    }

    private long lookup(PassthroughFileSystem f, long parent, String n) throws ErrnoException {
        EntryOut e = new EntryOut();
        f.lookup(root, parent, name(n), e);
        return e.nodeId;
    }

    private String read(PassthroughFileSystem f, long node, long fh) throws ErrnoException {
        long b = NativeMemory.allocate(64);
        allocations.add(b);
        int n = f.read(root, node, fh, 0, 64, new SingleSegment(b, 64));
        return NativeMemory.getString(b, n);
    }

    private static byte[] save(PassthroughFileSystem f) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(b);
        f.saveState(out);
        out.flush();
        return b.toByteArray();
    }

    private static void load(PassthroughFileSystem f, byte[] state) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(state));
        f.loadState(in);
        assertEquals(-1, in.read(), "the filesystem section is read to its end");
    }

    /** Source state: a, a/b, a/b/f (open, 2 lookups), a/g. */
    private long[] populate() throws ErrnoException {
        long a = lookup(source, FileSystem.ROOT_ID, "a");
        long b = lookup(source, a, "b");
        long f = lookup(source, b, "f");
        lookup(source, b, "f");
        long g = lookup(source, a, "g");
        OpenOut o = new OpenOut();
        source.open(root, f, Linux.O_RDWR, o);
        return new long[] {a, b, f, g, o.fh};
    }

    @Test
    void nodeIdsLookupCountsAndOpenFilesMoveOver() throws Exception {
        long[] ids = populate();
        byte[] state = save(source);
        PassthroughFileSystem dest = fs(MigrationOptions.DEFAULTS);
        load(dest, state);
        assertEquals("hello", read(dest, ids[2], ids[4]));
        assertEquals(5, dest.inodes(), "root + 4");
        // The same node ids: a lookup on the destination finds the migrated inode, counting on.
        assertEquals(ids[2], lookup(dest, ids[1], "f"));
        // Two lookups came along (plus one now): forgetting 2 keeps it, 1 more drops it.
        dest.forget(ids[2], 2);
        assertEquals("hello", read(dest, ids[2], ids[4]));
        dest.forget(ids[2], 1);
        AttrOut attr = new AttrOut();
        assertEquals(
                Errno.EBADF,
                assertThrows(ErrnoException.class, () -> dest.getattr(root, ids[2], -1, attr))
                        .errno());
        // New node ids and fhs never collide with migrated ones.
        long h = lookup(dest, ids[0], "g");
        assertEquals(ids[3], h);
        Files.writeString(dir.resolve("share/a/new"), "n");
        assertTrue(lookup(dest, ids[0], "new") > ids[3]);
        OpenOut o = new OpenOut();
        dest.open(root, ids[3], Linux.O_RDONLY, o);
        assertTrue(o.fh > ids[4]);
        // The source is unchanged (a failed migration resumes there).
        assertEquals("hello", read(source, ids[2], ids[4]));
    }

    @Test
    void savingTakesReferencesAsARequestDoesAndGivesThemAllBack() throws Exception {
        long[] ids = populate();
        InodeStore store = source.store();
        int[] before = new int[4];
        for (int i = 0; i < 4; i++) {
            before[i] = store.get(ids[i]).refs();
        }
        OpenFile open = source.files().get(ids[4]);
        int openBefore = open.refs();
        save(source);
        for (int i = 0; i < 4; i++) {
            assertEquals(before[i], store.get(ids[i]).refs(), "inode " + ids[i] + ": every reference given back");
        }
        assertEquals(openBefore, open.refs(), "the open file's reference given back");
        assertEquals(0, ThreadScratch.get().uses.depth(), "every InodeUse scope closed");
        assertEquals("hello", read(source, ids[2], ids[4]), "the source goes on serving");
    }

    @Test
    void aForgetDuringTheSaveClosesNothingTheSaveStillUses() throws Exception {
        RacingStrategy racing = new RacingStrategy(new FdStrategy());
        PassthroughFileSystem src = new PassthroughFileSystem(PassthroughOptions.of(dir.resolve("share")), racing);
        all.add(src);
        long a = lookup(src, FileSystem.ROOT_ID, "a");
        long g = lookup(src, a, "g");
        // While the save holds a's O_PATH fd, the guest forgets a (a FORGET on the hiprio queue).
        boolean[] openAfterForget = {false};
        racing.onAcquire = () -> {
            src.forget(a, 1);
            openAfterForget[0] = racing.closed.get() == 0;
        };
        byte[] state = save(src);
        assertEquals(1, racing.acquired.get(), "the save asked for a's fd once");
        assertTrue(openAfterForget[0], "the FORGET closed a's identity while the save was using its fd");
        assertEquals(1, racing.closed.get(), "closed by the save's scope, once the save was done with it");
        // a is left out (the guest holds it no more); g, which a destination that aborts on any loss
        // takes, is whole
        PassthroughFileSystem dest = fs(MigrationOptions.DEFAULTS);
        load(dest, state);
        assertEquals(2, dest.inodes(), "root + g");
        assertEquals("gee", readAll(dest, g));
    }

    private String readAll(PassthroughFileSystem f, long node) throws ErrnoException {
        OpenOut o = new OpenOut();
        f.open(root, node, Linux.O_RDONLY, o);
        return read(f, node, o.fh);
    }

    /** A real strategy whose identities run {@link #onAcquire} (once) right after handing out their O_PATH fd. */
    static final class RacingStrategy implements InodeIdentityStrategy {
        final InodeIdentityStrategy real;
        volatile Runnable onAcquire;
        final AtomicInteger acquired = new AtomicInteger();
        final AtomicInteger closed = new AtomicInteger();

        RacingStrategy(InodeIdentityStrategy real) {
            this.real = real;
        }

        @Override
        public String name() {
            return real.name();
        }

        @Override
        public IdentityProvider open(int rootFd) throws ErrnoException {
            IdentityProvider p = real.open(rootFd);
            return new IdentityProvider() {
                @Override
                public InodeIdentity identify(int pathFd, long mountId, int mode) throws ErrnoException {
                    return new Racing(p.identify(pathFd, mountId, mode));
                }

                @Override
                public int heldFds() {
                    return p.heldFds();
                }

                @Override
                public void close() {
                    p.close();
                }
            };
        }

        private final class Racing implements InodeIdentity {
            private final InodeIdentity id;

            Racing(InodeIdentity id) {
                this.id = id;
            }

            @Override
            public String kind() {
                return id.kind();
            }

            @Override
            public dev.virtiofsd.api.identity.FileHandle handle() {
                return id.handle();
            }

            @Override
            public boolean pinsInode() {
                return id.pinsInode();
            }

            @Override
            public int heldFds() {
                return id.heldFds();
            }

            @Override
            public int acquirePath() throws ErrnoException {
                int fd = id.acquirePath();
                Runnable r = onAcquire;
                if (r != null) {
                    onAcquire = null;
                    acquired.incrementAndGet();
                    r.run();
                }
                return fd;
            }

            @Override
            public void releasePath(int fd) {
                id.releasePath(fd);
            }

            @Override
            public int open(int flags) throws ErrnoException {
                return id.open(flags);
            }

            @Override
            public void close() {
                closed.incrementAndGet();
                id.close();
            }
        }
    }

    @Test
    void fdSourceToHandleDestinationAndBack() throws Exception {
        long[] ids = populate();
        MigrationOptions handles =
                new MigrationOptions(MigrationOptions.Mode.FILE_HANDLES, MigrationOptions.OnError.ABORT, true, false);
        source.migrationOptions(handles);
        byte[] state = save(source);
        PassthroughFileSystem dest = fs(handles);
        load(dest, state);
        assertEquals("hello", read(dest, ids[2], ids[4]));
    }

    @Test
    void renamedFileAbortsByDefault() throws Exception {
        populate();
        byte[] state = save(source);
        Files.move(dir.resolve("share/a/b/f"), dir.resolve("share/a/b/f2"));
        PassthroughFileSystem dest = fs(MigrationOptions.DEFAULTS);
        IOException e = assertThrows(IOException.class, () -> load(dest, state));
        assertTrue(e.getMessage().contains("'a/b/f': cannot open it by path: ENOENT"), e.getMessage());
        assertTrue(e.getMessage().contains("--migration-on-error abort"), e.getMessage());
    }

    @Test
    void replacedFileIsNeverTakenForTheOldOne() throws Exception {
        long[] ids = populate();
        byte[] state = save(source);
        source.close(); // nobody holds the old file any more
        Files.delete(dir.resolve("share/a/b/f"));
        Files.writeString(dir.resolve("share/a/b/f"), "impostor");
        PassthroughFileSystem dest = fs(new MigrationOptions(
                MigrationOptions.Mode.FIND_PATHS, MigrationOptions.OnError.GUEST_ERROR, false, false));
        load(dest, state);
        // The lost inode answers EIO, its open file EBADF; the rest works.
        AttrOut attr = new AttrOut();
        assertEquals(
                Errno.EIO,
                assertThrows(ErrnoException.class, () -> dest.getattr(root, ids[2], -1, attr))
                        .errno());
        assertEquals(
                Errno.EBADF,
                assertThrows(ErrnoException.class, () -> read(dest, ids[2], ids[4]))
                        .errno());
        dest.getattr(root, ids[3], -1, attr);
        // A fresh lookup by name finds the new file under a new node id.
        long fresh = lookup(dest, ids[1], "f");
        assertTrue(fresh != ids[2]);
    }

    @Test
    void pathsOutsideTheShareAreRefused() throws Exception {
        for (String evil : new String[] {"../outside", "a/../../outside", "/outside", "a//b", "."}) {
            byte[] state = handMade(evil);
            PassthroughFileSystem dest = fs(MigrationOptions.DEFAULTS);
            IOException e = assertThrows(IOException.class, () -> load(dest, state), evil);
            assertTrue(
                    e.getMessage().contains("bad path component")
                            || e.getMessage().contains("ENOENT"),
                    e.getMessage());
            assertEquals(1, dest.inodes(), evil);
        }
        // A symlink in the share pointing out is not followed either.
        Files.createSymbolicLink(dir.resolve("share/link"), dir);
        byte[] state = handMade("link/outside");
        PassthroughFileSystem dest = fs(MigrationOptions.DEFAULTS);
        IOException e = assertThrows(IOException.class, () -> load(dest, state));
        assertTrue(e.getMessage().contains("ENOTDIR") || e.getMessage().contains("ELOOP"), e.getMessage());
    }

    @Test
    void malformedStatesAreRefused() throws Exception {
        populate();
        byte[] state = save(source);
        for (int cut : new int[] {0, 3, 10, state.length / 2, state.length - 1}) {
            PassthroughFileSystem dest = fs(MigrationOptions.DEFAULTS);
            assertThrows(IOException.class, () -> load(dest, Arrays.copyOf(state, cut)), "cut at " + cut);
        }
        byte[] badVersion = state.clone();
        badVersion[3] = 99;
        IOException e = assertThrows(IOException.class, () -> load(fs(MigrationOptions.DEFAULTS), badVersion));
        assertTrue(e.getMessage().contains("version 99"), e.getMessage());
        // The same node id twice.
        byte[] twice = handMade("a/g", "a/g");
        e = assertThrows(IOException.class, () -> load(fs(MigrationOptions.DEFAULTS), twice));
        assertTrue(e.getMessage().contains("appears twice"), e.getMessage());
    }

    /** A state naming node id 7 at each path, with a file handle of none, as a lying source could send. */
    private static byte[] handMade(String... paths) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream o = new DataOutputStream(b);
        o.writeInt(PassthroughMigration.FS_FORMAT_VERSION);
        o.writeUTF("fd");
        o.writeByte(1);
        o.writeUTF("");
        o.writeLong(100);
        o.writeLong(100);
        o.writeInt(0); // mounts
        o.writeInt(paths.length);
        for (String p : paths) {
            o.writeLong(7);
            o.writeLong(1);
            o.writeInt(Linux.S_IFREG | 0644);
            o.writeUTF("fd");
            o.writeLong(0);
            o.writeLong(0);
            o.writeByte(PassthroughMigration.HAS_PATH);
            byte[] pb = p.getBytes(StandardCharsets.UTF_8);
            o.writeInt(pb.length);
            o.write(pb);
        }
        o.writeInt(0); // files
        o.flush();
        return b.toByteArray();
    }
}
