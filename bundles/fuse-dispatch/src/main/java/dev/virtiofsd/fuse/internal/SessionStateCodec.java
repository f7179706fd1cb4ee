package dev.virtiofsd.fuse.internal;

import dev.virtiofsd.api.fs.FileSystem;
import dev.virtiofsd.api.fs.MigratableFileSystem;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.zip.CRC32;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;

/**
 * The outer layer of the device state (docs/migration.md): magic, format version, the FUSE INIT
 * result, the filesystem's own section, and a CRC-32 of everything before it. Big-endian, written
 * with {@link DataOutputStream}.
 */
final class SessionStateCodec {
    /** "VFSJ-MIG". */
    static final long MAGIC = 0x5646534a2d4d4947L;

    static final int FORMAT_VERSION = 1;

    private SessionStateCodec() {}

    static void save(FuseSessionImpl session, FileSystem fs, OutputStream raw) throws IOException {
        CheckedOutputStream checked = new CheckedOutputStream(raw, new CRC32());
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(checked, 64 * 1024));
        out.writeLong(MAGIC);
        out.writeInt(FORMAT_VERSION);
        boolean live = session != null && session.initialized();
        out.writeBoolean(live);
        if (live) {
            if (!(fs instanceof MigratableFileSystem migratable)) {
                throw new IOException("the filesystem " + fs.getClass().getName() + " cannot migrate its state");
            }
            out.writeInt(session.minor());
            out.writeLong(session.flags());
            out.writeInt(session.maxWrite);
            migratable.saveState(out);
        }
        out.flush();
        DataOutputStream tail = new DataOutputStream(raw);
        tail.writeInt((int) checked.getChecksum().getValue());
        tail.flush();
    }

    /** Returns the session, already past INIT, or null when the source had none. */
    static FuseSessionImpl load(FuseServerImpl server, FileSystem fs, int maxWrite, InputStream raw)
            throws IOException {
        CheckedInputStream checked = new CheckedInputStream(raw, new CRC32());
        // No read-ahead past the checksummed part: the CRC that follows must be read from raw.
        DataInputStream in = new DataInputStream(checked);
        long magic = in.readLong();
        if (magic != MAGIC) {
            throw new IOException("not a virtiofsd-java device state (magic 0x" + Long.toHexString(magic)
                    + "; a Rust virtiofsd state cannot be read, see docs/migration.md)");
        }
        int version = in.readInt();
        if (version != FORMAT_VERSION) {
            throw new IOException("device state format version " + version + " is not supported (this daemon reads "
                    + FORMAT_VERSION + ")");
        }
        FuseSessionImpl session = null;
        if (in.readBoolean()) {
            if (!(fs instanceof MigratableFileSystem migratable)) {
                throw new IOException("the filesystem " + fs.getClass().getName() + " cannot load a migrated state");
            }
            int minor = in.readInt();
            long flags = in.readLong();
            int sourceMaxWrite = in.readInt();
            if (minor < FuseProtocol.MIN_MINOR || minor > FuseProtocol.MAX_MINOR) {
                throw new IOException("FUSE minor " + minor + " in the state is not one this daemon speaks");
            }
            if (sourceMaxWrite <= 0 || sourceMaxWrite > maxWrite) {
                throw new IOException("the source negotiated max_write " + sourceMaxWrite + ", more than the "
                        + maxWrite + " this transport carries");
            }
            try {
                migratable.loadState(in);
            } catch (IOException | RuntimeException e) {
                fs.destroy();
                throw e;
            }
            // The filesystem learns what the session negotiated (writeback cache, POSIX ACLs decide
            // how it opens and creates), as at INIT: the migrated flags are what the kernel granted.
            fs.initFlags(flags);
            session = server.newSession(maxWrite);
            session.initDone(minor, flags);
        }
        int expected = (int) checked.getChecksum().getValue();
        int crc = new DataInputStream(raw).readInt();
        if (crc != expected) {
            if (session != null) {
                session.close();
            }
            throw new IOException("device state checksum mismatch (corrupted in transit)");
        }
        return session;
    }
}
