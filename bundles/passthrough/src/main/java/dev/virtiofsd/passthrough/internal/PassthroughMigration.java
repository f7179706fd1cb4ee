package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.FileHandle;
import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.ProcFiles;
import dev.virtiofsd.linux.Statx;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The passthrough filesystem's part of a live migration's device state (format in
 * docs/migration.md, section "filesystem"). The source writes, for every inode the guest holds, its
 * node id, lookup count, file type, identity kind, host ids, and where to find it again: a path
 * relative to the shared directory (found through /proc/self/fd and confirmed by walking it from the
 * root) and/or a file handle. The destination finds each inode again, checks that it is the same
 * file (type; inode number and device on the same boot; file handle whenever both sides can make
 * one), and gives it an identity of its own strategy, so fd-only and handle-only daemons can migrate
 * to each other. Open files are reopened under the same fh with the same flags.
 *
 * <p>Runs with every queue stopped: no request changes the store meanwhile.
 */
final class PassthroughMigration implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PassthroughMigration.class);

    static final int FS_FORMAT_VERSION = 1;

    static final int HAS_PATH = 1;
    static final int HAS_HANDLE = 2;
    /** The source itself could not find the inode any more (deleted or moved away before it stopped). */
    static final int LOST_ON_SOURCE = 4;

    private static final int PATH_MAX = 4096;
    private static final int MAX_COUNT = 1 << 26;

    private final InodeStore store;
    private final ConcurrentHashMap<Long, OpenFile> files;
    private final AtomicLong nextFh;
    private final int rootFd;
    private final IdentityProvider provider;
    /** The strategy new inodes get (a migrated-in inode is new here); null in tests. */
    private final StrategySlot slot;

    private final MigrationOptions options;
    private final String strategyName;
    private final Statx statx = new Statx();
    private final Statx statx2 = new Statx();
    private final long scratch = NativeMemory.allocate(PATH_MAX + 16 + 8 + Linux.MAX_HANDLE_SZ + 64);
    private final long handleBuf = scratch + PATH_MAX + 16;
    /** The shared directory as /proc/self/fd shows it (destination side). */
    private byte[] rootPath;

    PassthroughMigration(
            InodeStore store,
            ConcurrentHashMap<Long, OpenFile> files,
            AtomicLong nextFh,
            int rootFd,
            StrategySlot slot,
            MigrationOptions options) {
        this.store = store;
        this.files = files;
        this.nextFh = nextFh;
        this.rootFd = rootFd;
        this.slot = slot;
        this.provider = slot.provider;
        this.options = options;
        this.strategyName = slot.name;
    }

    @Override
    public void close() {
        statx.close();
        statx2.close();
        NativeMemory.free(scratch);
    }

    // ---- source ------------------------------------------------------------------------------

    void save(DataOutputStream out) throws IOException {
        long start = System.nanoTime();
        byte[] rootPath = readlinkFd(rootFd);
        if (rootPath == null) {
            throw new IOException("cannot read the shared directory's path from /proc/self/fd");
        }
        long rootMnt;
        try {
            rootMnt = statx.ofFd(rootFd).mntId();
        } catch (ErrnoException e) {
            throw new IOException("statx of the shared directory: " + e.getMessage());
        }
        long[] nodeIds = store.migrationNodeIds();
        out.writeInt(FS_FORMAT_VERSION);
        out.writeUTF(strategyName);
        out.writeByte(options.mode == MigrationOptions.Mode.FILE_HANDLES ? 2 : 1);
        out.writeUTF(bootId());
        out.writeLong(store.nextNodeId());
        out.writeLong(nextFh.get());

        // Records first (they name mounts), then the mount table, inodes and files.
        List<byte[]> records = new ArrayList<>(nodeIds.length);
        Map<Long, byte[]> mounts = new LinkedHashMap<>();
        int lost = 0;
        int withPath = 0;
        int withHandle = 0;
        for (long nodeId : nodeIds) {
            java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream(64);
            DataOutputStream r = new DataOutputStream(buf);
            int flags;
            // As a request takes it: with a reference, so neither the inode nor its fd is closed under us.
            try (InodeUse u = InodeUse.of(store, nodeId)) {
                flags = describe(u, rootPath, r, mounts, rootMnt);
                if (!store.holds(u.inode())) {
                    continue; // forgotten while we described it: the guest holds it no more
                }
            } catch (ErrnoException e) {
                continue; // forgotten since the list was taken: the guest holds it no more
            }
            r.flush();
            if ((flags & LOST_ON_SOURCE) != 0) {
                lost++;
            }
            if ((flags & HAS_PATH) != 0) {
                withPath++;
            }
            if ((flags & HAS_HANDLE) != 0) {
                withHandle++;
            }
            records.add(buf.toByteArray());
        }
        out.writeInt(mounts.size());
        for (Map.Entry<Long, byte[]> m : mounts.entrySet()) {
            out.writeLong(m.getKey());
            writeBytes(out, m.getValue());
        }
        out.writeInt(records.size());
        for (byte[] r : records) {
            out.write(r);
        }
        // Open files too as a request takes them: each with a reference, given back at the end.
        List<Map.Entry<Long, OpenFile>> open = new ArrayList<>(files.size());
        for (Map.Entry<Long, OpenFile> e : files.entrySet()) {
            if (e.getValue().tryRetain()) {
                open.add(e);
            }
        }
        try {
            open.sort(Map.Entry.comparingByKey());
            out.writeInt(open.size());
            for (Map.Entry<Long, OpenFile> e : open) {
                OpenFile f = e.getValue();
                int fl;
                try {
                    fl = Linux.fcntl(f.fd, Linux.F_GETFL, 0);
                } catch (ErrnoException ex) {
                    throw new IOException("open file " + e.getKey() + ": fcntl(F_GETFL): " + ex.getMessage());
                }
                out.writeLong(e.getKey());
                out.writeLong(f.inode.nodeId);
                out.writeInt(fl);
                out.writeBoolean(f instanceof OpenFile.Dir);
            }
        } finally {
            for (Map.Entry<Long, OpenFile> e : open) {
                e.getValue().close();
            }
        }
        LOG.info(
                "migration state: {} inodes ({} with a path, {} with a file handle, {} lost on this host), {} open"
                        + " files, {} mounts; {} ms",
                records.size(),
                withPath,
                withHandle,
                lost,
                open.size(),
                mounts.size(),
                (System.nanoTime() - start) / 1_000_000);
    }

    /** Writes one inode record; returns its flags. */
    private int describe(InodeUse u, byte[] rootPath, DataOutputStream r, Map<Long, byte[]> mounts, long rootMnt)
            throws IOException {
        Inode i = u.inode();
        int fd;
        try {
            fd = u.pathFd();
        } catch (ErrnoException e) {
            LOG.warn(
                    "migration: inode {} ({}) cannot be opened on this host: {}",
                    i.nodeId,
                    i.identity.kind(),
                    e.getMessage());
            writeRecord(r, i, i.ids.ino, i.ids.dev, LOST_ON_SOURCE, null, null);
            return LOST_ON_SOURCE;
        }
        long ino;
        long dev;
        long mnt;
        try {
            statx.ofFd(fd);
            ino = statx.ino();
            dev = statx.dev();
            mnt = statx.mntId();
        } catch (ErrnoException e) {
            writeRecord(r, i, i.ids.ino, i.ids.dev, LOST_ON_SOURCE, null, null);
            return LOST_ON_SOURCE;
        }
        int flags = 0;
        byte[] path = findPath(fd, rootPath, ino, dev, mnt);
        if (path != null) {
            flags |= HAS_PATH;
        }
        FileHandle handle = i.identity.handle();
        if (handle == null) {
            handle = makeHandle(fd, mnt);
        }
        if (handle != null) {
            byte[] mountPath = mounts.get(handle.mountId());
            if (mountPath == null && !mounts.containsKey(handle.mountId())) {
                mountPath = mountPath(handle.mountId(), rootMnt, rootPath);
                if (mountPath != null) {
                    mounts.put(handle.mountId(), mountPath);
                }
            }
            if (mountPath != null || mounts.containsKey(handle.mountId())) {
                flags |= HAS_HANDLE;
            }
        }
        if ((flags & (HAS_PATH | HAS_HANDLE)) == 0) {
            LOG.warn("migration: inode {} has neither a path under the shared directory nor a file handle", i.nodeId);
            flags |= LOST_ON_SOURCE;
        }
        writeRecord(r, i, ino, dev, flags, path, (flags & HAS_HANDLE) != 0 ? handle : null);
        return flags;
    }

    private static void writeRecord(
            DataOutputStream r, Inode i, long ino, long dev, int flags, byte[] path, FileHandle handle)
            throws IOException {
        long lookups = i.lookups;
        r.writeLong(i.nodeId);
        r.writeLong(lookups);
        r.writeInt(i.mode);
        r.writeUTF(i.identity.kind());
        r.writeLong(ino);
        r.writeLong(dev);
        r.writeByte(flags);
        if ((flags & HAS_PATH) != 0) {
            writeBytes(r, path);
        }
        if ((flags & HAS_HANDLE) != 0) {
            r.writeLong(handle.mountId());
            r.writeInt(handle.type());
            writeBytes(r, handle.bytes());
        }
    }

    /**
     * The path of the inode behind {@code fd} relative to the shared directory, or null. The kernel's
     * /proc/self/fd link is only a candidate (an inode opened by handle may have a disconnected dentry,
     * a deleted one has none): it counts only after walking it from the root, component by component
     * without following symlinks, leads to the same inode (ino, dev, mount).
     */
    private byte[] findPath(int fd, byte[] rootPath, long ino, long dev, long mnt) {
        byte[] abs = readlinkFd(fd);
        if (abs == null) {
            return null;
        }
        byte[] rel;
        if (rootPath.length == 1 && rootPath[0] == '/') {
            if (abs.length < 2 || abs[0] != '/') {
                return null;
            }
            rel = Arrays.copyOfRange(abs, 1, abs.length);
        } else {
            if (abs.length <= rootPath.length + 1
                    || abs[rootPath.length] != '/'
                    || !Arrays.equals(abs, 0, rootPath.length, rootPath, 0, rootPath.length)) {
                return null;
            }
            rel = Arrays.copyOfRange(abs, rootPath.length + 1, abs.length);
        }
        int found;
        try {
            found = walk(rel);
        } catch (ErrnoException | IOException e) {
            LOG.debug(
                    "migration: path {} does not lead back: {}",
                    new String(rel, StandardCharsets.UTF_8),
                    e.getMessage());
            return null;
        }
        try {
            statx2.ofFd(found);
            if (statx2.ino() == ino && statx2.dev() == dev && statx2.mntId() == mnt) {
                return rel;
            }
            return null;
        } catch (ErrnoException e) {
            return null;
        } finally {
            Linux.close(found);
        }
    }

    /** A file handle for the inode behind {@code fd}, or null if its filesystem has none. */
    private FileHandle makeHandle(int fd, long mnt) {
        NativeMemory.putInt(handleBuf, Linux.MAX_HANDLE_SZ);
        NativeMemory.putInt(handleBuf + 4, 0);
        try {
            Linux.nameToHandleAt(fd, Linux.EMPTY_PATH, handleBuf, scratch, Linux.AT_EMPTY_PATH);
        } catch (ErrnoException e) {
            return null;
        }
        int n = NativeMemory.getInt(handleBuf);
        if (n <= 0 || n > Linux.MAX_HANDLE_SZ) {
            return null;
        }
        byte[] b = new byte[n];
        NativeMemory.getBytes(handleBuf + 8, b, 0, n);
        return new FileHandle(mnt, NativeMemory.getInt(handleBuf + 4), b);
    }

    /**
     * Where the destination finds a mount fd for handles of {@code mountId}: "" for the shared
     * directory's own mount, else the mount point relative to the shared directory (from
     * /proc/self/mountinfo); null if the mount point is not inside the share.
     */
    private static byte[] mountPath(long mountId, long rootMnt, byte[] rootPath) throws IOException {
        if (mountId == rootMnt) {
            return new byte[0];
        }
        String root = new String(rootPath, StandardCharsets.UTF_8);
        for (String line : ProcFiles.mountinfo()) {
            String[] f = line.split(" ", -1);
            if (f.length > 5 && f[0].equals(Long.toString(mountId))) {
                String point = unescape(f[4]);
                String prefix = root.equals("/") ? "/" : root + "/";
                if (point.startsWith(prefix) && point.length() > prefix.length()) {
                    return point.substring(prefix.length()).getBytes(StandardCharsets.UTF_8);
                }
                return null;
            }
        }
        return null;
    }

    /** mountinfo escapes space, tab, newline and backslash as \ooo. */
    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                try {
                    b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                    i += 3;
                    continue;
                } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
                    // not an escape
                }
            }
            b.append(c);
        }
        return b.toString();
    }

    private byte[] readlinkFd(int fd) {
        try {
            int n = Linux.readlinkat(Linux.procDirFd(), Linux.procPath(fd), scratch, PATH_MAX);
            if (n <= 0 || n >= PATH_MAX) {
                return null;
            }
            byte[] b = new byte[n];
            NativeMemory.getBytes(scratch, b, 0, n);
            if (b[0] != '/') {
                return null;
            }
            return b;
        } catch (ErrnoException e) {
            return null;
        }
    }

    /**
     * Opens {@code rel} below the shared directory as O_PATH, one component at a time with
     * O_NOFOLLOW, refusing empty, "." and ".." components: a path from the state can name nothing
     * outside the share, whatever it holds.
     */
    private int walk(byte[] rel) throws ErrnoException, IOException {
        if (rel.length == 0) {
            NativeMemory.putByte(scratch, (byte) '.');
            NativeMemory.putByte(scratch + 1, (byte) 0);
            return Linux.openat(rootFd, scratch, Linux.O_PATH | Linux.O_DIRECTORY, 0);
        }
        int dir = -1;
        int start = 0;
        try {
            while (true) {
                int end = start;
                while (end < rel.length && rel[end] != '/') {
                    end++;
                }
                int len = end - start;
                if (len == 0
                        || len > 255
                        || (len == 1 && rel[start] == '.')
                        || (len == 2 && rel[start] == '.' && rel[start + 1] == '.')) {
                    throw new IOException("bad path component in the state");
                }
                for (int k = start; k < end; k++) {
                    if (rel[k] == 0) {
                        throw new IOException("NUL in a path of the state");
                    }
                }
                NativeMemory.putBytes(scratch, rel, start, len);
                NativeMemory.putByte(scratch + len, (byte) 0);
                int next = Linux.openat(dir < 0 ? rootFd : dir, scratch, Linux.O_PATH | Linux.O_NOFOLLOW, 0);
                Linux.close(dir);
                dir = next;
                if (end == rel.length) {
                    int r = dir;
                    dir = -1;
                    return r;
                }
                start = end + 1;
            }
        } finally {
            Linux.close(dir);
        }
    }

    private static String bootId() {
        return ProcFiles.bootId();
    }

    private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    private static byte[] readBytes(DataInputStream in, int max, String what) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > max) {
            throw new IOException(what + " of " + n + " bytes in the state");
        }
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }

    // ---- destination -------------------------------------------------------------------------

    /** One inode as the source described it. */
    @SuppressWarnings("JavaLangClash") // private, and never meant as java.lang.Record
    private static final class Record {
        long nodeId;
        long lookups;
        int mode;

        long ino;
        long dev;
        int flags;
        byte[] path;
        long handleMount;
        int handleType;
        byte[] handle;

        String where() {
            return path != null ? "'" + new String(path, StandardCharsets.UTF_8) + "'" : "(no path)";
        }
    }

    /** A failure to find an inode again: the reason for the log or the abort message. */
    private static final class Lost extends Exception {
        private static final long serialVersionUID = 1L;

        Lost(String why) {
            super(why, null, false, false);
        }
    }

    void load(DataInputStream in) throws IOException {
        long start = System.nanoTime();
        int version = in.readInt();
        if (version != FS_FORMAT_VERSION) {
            throw new IOException("filesystem state version " + version + " is not supported (this daemon reads "
                    + FS_FORMAT_VERSION + ")");
        }
        String sourceStrategy = in.readUTF();
        int sourceMode = in.readUnsignedByte();
        String sourceBoot = in.readUTF();
        long nextNode = in.readLong();
        long nextFile = in.readLong();
        boolean sameBoot = !sourceBoot.isEmpty() && sourceBoot.equals(bootId());
        rootPath = readlinkFd(rootFd);
        if (rootPath == null) {
            throw new IOException("cannot read the shared directory's path from /proc/self/fd");
        }

        int nMounts = count(in, "mounts");
        Map<Long, byte[]> mountPaths = new HashMap<>();
        for (int k = 0; k < nMounts; k++) {
            long id = in.readLong();
            mountPaths.put(id, readBytes(in, PATH_MAX, "mount path"));
        }
        int nInodes = count(in, "inodes");
        List<Record> records = new ArrayList<>(Math.min(nInodes, 1 << 16));
        for (int k = 0; k < nInodes; k++) {
            Record r = new Record();
            r.nodeId = in.readLong();
            r.lookups = in.readLong();
            r.mode = in.readInt();
            in.readUTF(); // the source's identity kind: this side finds the identity anew
            r.ino = in.readLong();
            r.dev = in.readLong();
            r.flags = in.readUnsignedByte();
            if ((r.flags & HAS_PATH) != 0) {
                r.path = readBytes(in, PATH_MAX, "path");
            }
            if ((r.flags & HAS_HANDLE) != 0) {
                r.handleMount = in.readLong();
                r.handleType = in.readInt();
                r.handle = readBytes(in, Linux.MAX_HANDLE_SZ, "file handle");
            }
            if (r.nodeId <= 1 || r.lookups <= 0) {
                throw new IOException("inode record " + r.nodeId + " with " + r.lookups + " lookups");
            }
            records.add(r);
        }
        int nFiles = count(in, "open files");
        long[][] openFiles = new long[nFiles][];
        for (int k = 0; k < nFiles; k++) {
            long fh = in.readLong();
            long node = in.readLong();
            int flags = in.readInt();
            boolean dir = in.readBoolean();
            openFiles[k] = new long[] {fh, node, flags, dir ? 1 : 0};
        }

        LOG.info(
                "loading migrated state: {} inodes, {} open files from a {} source ({}), {}, {}",
                records.size(),
                nFiles,
                sourceStrategy,
                sourceMode == 2 ? "file-handles" : "find-paths",
                sameBoot ? "same host boot" : "another host or boot: inode numbers are not compared",
                options);

        Map<Long, Integer> mountFds = new HashMap<>();
        int lost = 0;
        try {
            for (Record r : records) {
                Inode inode;
                try {
                    inode = find(r, sameBoot, mountPaths, mountFds);
                } catch (Lost e) {
                    String why = "inode " + r.nodeId + " " + r.where() + ": " + e.getMessage();
                    if (options.onError == MigrationOptions.OnError.ABORT) {
                        throw new IOException(why + " (--migration-on-error abort)");
                    }
                    LOG.warn("migration: {}; the guest gets EIO for it (--migration-on-error guest-error)", why);
                    lost++;
                    inode = new Inode(r.nodeId, new LostIdentity(), new IdsKey(-r.nodeId, -1, -1), r.mode, false);
                }
                if (!store.insertMigrated(inode, r.lookups, nextNode)) {
                    inode.release();
                    throw new IOException("node id " + r.nodeId + " appears twice in the state");
                }
            }
        } finally {
            for (int fd : mountFds.values()) {
                Linux.close(fd);
            }
        }
        int reopened = 0;
        for (long[] f : openFiles) {
            long fh = f[0];
            Inode inode = store.get(f[1]);
            if (inode == null || fh <= 0) {
                throw new IOException("open file " + fh + " names unknown inode " + f[1]);
            }
            if (inode.identity instanceof LostIdentity) {
                continue; // its fh answers EBADF, the inode EIO
            }
            boolean dir = f[3] != 0;
            int fd;
            try {
                // openForIo: a state that names a device or FIFO as an open file gets nothing opened
                fd = dir
                        ? inode.openForIo(Linux.O_RDONLY | Linux.O_DIRECTORY)
                        : inode.openForIo((int) f[2]
                                & ~(Linux.O_CREAT | Linux.O_EXCL | Linux.O_TRUNC | Linux.O_NOCTTY | Linux.O_PATH));
            } catch (ErrnoException e) {
                String why = "open file " + fh + " of inode " + inode.nodeId + ": " + e.getMessage();
                if (options.onError == MigrationOptions.OnError.ABORT) {
                    throw new IOException(why + " (--migration-on-error abort)");
                }
                LOG.warn("migration: {}; the guest gets EBADF for it", why);
                continue;
            }
            inode.retain(); // the open file's reference (see OpenFile)
            OpenFile of = dir ? new OpenFile.Dir(inode, fd) : new OpenFile(inode, fd);
            if (files.putIfAbsent(fh, of) != null) {
                of.close(); // its only reference: closes the fd and gives the inode's back
                throw new IOException("fh " + fh + " appears twice in the state");
            }
            nextFh.accumulateAndGet(fh + 1, Math::max);
            reopened++;
        }
        nextFh.accumulateAndGet(nextFile, Math::max);
        LOG.info(
                "migrated state loaded: {} inodes ({} lost), {} open files reopened; {} ms",
                records.size(),
                lost,
                reopened,
                (System.nanoTime() - start) / 1_000_000);
    }

    private static int count(DataInputStream in, String what) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_COUNT) {
            throw new IOException(n + " " + what + " in the state");
        }
        return n;
    }

    /** Finds the inode of {@code r} on this host and makes it an identity of this daemon's strategy. */
    private Inode find(Record r, boolean sameBoot, Map<Long, byte[]> mountPaths, Map<Long, Integer> mountFds)
            throws Lost, IOException {
        if ((r.flags & LOST_ON_SOURCE) != 0) {
            throw new Lost("the source could not find it any more");
        }
        // file-handles: by handle; find-paths: by path, the handle only verifies. Either way the
        // other locator is used only when the record has no first one (a filesystem without
        // handles; a file the source held open after it was unlinked). A locator that fails is
        // not retried with the other: the policy then decides.
        boolean byHandle = r.handle != null && (options.mode == MigrationOptions.Mode.FILE_HANDLES || r.path == null);
        String failure = null;
        int fd = -1;
        try {
            if (byHandle) {
                fd = openByHandle(r, mountPaths, mountFds);
                if (!insideShare(fd, r)) {
                    Linux.close(fd);
                    fd = -1;
                    failure = "its file handle opens a file outside the shared directory";
                }
            } else if (r.path != null) {
                fd = walk(r.path);
            }
        } catch (ErrnoException e) {
            failure = "cannot open it " + (byHandle ? "by file handle" : "by path") + ": " + e.getMessage();
        }
        if (fd < 0) {
            throw new Lost(failure != null ? failure : "the state gives no way to find it");
        }
        try {
            long mnt = check(fd, r, sameBoot);
            InodeIdentity identity;
            int owned = fd;
            fd = -1;
            try {
                identity = provider.identify(owned, mnt, r.mode);
            } catch (ErrnoException e) {
                throw new Lost("this daemon's strategy cannot hold it: " + e.getMessage());
            }
            return new Inode(r.nodeId, identity, new IdsKey(statx.ino(), statx.dev(), mnt), statx.mode(), false, slot);
        } finally {
            Linux.close(fd);
        }
    }

    /** Checks that {@code fd} is the inode the source had; returns its mount id. */
    private long check(int fd, Record r, boolean sameBoot) throws Lost {
        try {
            statx.ofFd(fd);
        } catch (ErrnoException e) {
            throw new Lost("statx: " + e.getMessage());
        }
        if ((statx.mode() & Linux.S_IFMT) != (r.mode & Linux.S_IFMT)) {
            throw new Lost("found a file of another type (mode 0" + Integer.toOctalString(statx.mode()) + ", was 0"
                    + Integer.toOctalString(r.mode) + ")");
        }
        if (sameBoot && (statx.ino() != r.ino || statx.dev() != r.dev)) {
            throw new Lost("found another file (inode " + statx.ino() + " on device " + statx.dev() + ", was inode "
                    + r.ino + " on device " + r.dev + ")");
        }
        long mnt = statx.mntId();
        if (r.handle != null) {
            FileHandle mine = makeHandle(fd, mnt);
            if (mine == null) {
                if (options.verifyHandles) {
                    throw new Lost("cannot make a file handle to verify it (--migration-verify-handles)");
                }
            } else if (mine.type() != r.handleType || !Arrays.equals(mine.bytes(), r.handle)) {
                throw new Lost("its file handle differs: the file was replaced (same name, new generation)");
            }
        } else if (options.verifyHandles) {
            throw new Lost("the source sent no file handle to verify it (--migration-verify-handles)");
        }
        return mnt;
    }

    /**
     * A file handle names an inode anywhere on its filesystem, also outside the share: accept what it
     * opens only if the kernel's path for it lies inside the shared directory. A file unlinked on the
     * source (the record has no path) may show as deleted.
     */
    private boolean insideShare(int fd, Record r) {
        byte[] abs = readlinkFd(fd);
        if (abs == null) {
            return false;
        }
        boolean inside = rootPath.length == 1
                || (abs.length > rootPath.length + 1
                        && abs[rootPath.length] == '/'
                        && Arrays.equals(abs, 0, rootPath.length, rootPath, 0, rootPath.length));
        if (!inside) {
            return false;
        }
        byte[] deleted = " (deleted)".getBytes(StandardCharsets.US_ASCII);
        boolean isDeleted = abs.length > deleted.length
                && Arrays.equals(abs, abs.length - deleted.length, abs.length, deleted, 0, deleted.length);
        return !isDeleted || r.path == null;
    }

    private int openByHandle(Record r, Map<Long, byte[]> mountPaths, Map<Long, Integer> mountFds)
            throws ErrnoException, IOException {
        Integer mfd = mountFds.get(r.handleMount);
        if (mfd == null) {
            byte[] path = mountPaths.get(r.handleMount);
            if (path == null) {
                throw ErrnoException.of(Errno.ENOENT, "no mount path for the handle's mount " + r.handleMount);
            }
            int p = walk(path);
            try {
                mfd = Linux.reopen(p, Linux.O_RDONLY | Linux.O_DIRECTORY);
            } finally {
                Linux.close(p);
            }
            mountFds.put(r.handleMount, mfd);
        }
        NativeMemory.putInt(handleBuf, r.handle.length);
        NativeMemory.putInt(handleBuf + 4, r.handleType);
        NativeMemory.putBytes(handleBuf + 8, r.handle, 0, r.handle.length);
        return Linux.openByHandleAt(mfd, handleBuf, Linux.O_PATH | Linux.O_NOFOLLOW);
    }
}
