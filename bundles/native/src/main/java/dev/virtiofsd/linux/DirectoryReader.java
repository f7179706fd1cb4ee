package dev.virtiofsd.linux;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;

/**
 * Reads a directory with {@code getdents64(2)}: a native buffer of {@code struct linux_dirent64}
 * records (u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type, NUL-terminated d_name) and a cursor
 * over them. {@link #hasEntry(int)} decodes the entry under the cursor, reading more records when
 * the buffer is used up; {@link #advance()} consumes it. An entry that the caller cannot take yet
 * (no room in its reply) simply stays under the cursor for the next call.
 *
 * <p>A record that does not fit in what the kernel returned, or a name without its NUL, is
 * reported as EIO rather than read past. Not thread-safe: guard it with the directory handle.
 */
public final class DirectoryReader implements AutoCloseable {
    /** d_name's offset in the record. */
    static final int NAME_OFFSET = 19;

    public static final int DEFAULT_BUFFER = 32 * 1024;

    private final int capacity;
    private long buffer;
    /** Unconsumed records are {@code [pos, len)} of the buffer. */
    private int pos;

    private int len;
    /** The entry under the cursor was decoded (fields below are valid). */
    private boolean decoded;

    private long ino;
    private long nextOffset;
    private int recordLength;
    private int type;
    private int nameLength;

    public DirectoryReader() {
        this(DEFAULT_BUFFER);
    }

    /** @param capacity buffer bytes; must hold at least one record with a name of NAME_MAX bytes */
    public DirectoryReader(int capacity) {
        if (capacity < NAME_OFFSET + 256) {
            throw new IllegalArgumentException("buffer of " + capacity + " bytes cannot hold a long name");
        }
        this.capacity = capacity;
        this.buffer = NativeMemory.allocate(capacity);
    }

    /** Forgets buffered records, as after an lseek of the directory fd. */
    public void discard() {
        pos = len = 0;
        decoded = false;
    }

    /**
     * Whether there is an entry under the cursor, reading the next records from {@code fd} when
     * the buffer is used up; false at the end of the directory.
     */
    public boolean hasEntry(int fd) throws ErrnoException {
        if (buffer == 0) {
            throw ErrnoException.of(Errno.EBADF);
        }
        if (decoded) {
            return true;
        }
        if (pos >= len) {
            int n = Linux.getdents64(fd, buffer, capacity);
            pos = 0;
            len = Math.max(n, 0);
            if (n <= 0) {
                return false;
            }
        }
        decode();
        return true;
    }

    private void decode() throws ErrnoException {
        long rec = buffer + pos;
        int reclen = len - pos >= NAME_OFFSET ? NativeMemory.getShort(rec + 16) & 0xffff : 0;
        if (reclen <= NAME_OFFSET || reclen > len - pos) {
            throw ErrnoException.of(Errno.EIO);
        }
        int n = NativeMemory.strnlen(rec + NAME_OFFSET, reclen - NAME_OFFSET);
        if (n < 0) {
            throw ErrnoException.of(Errno.EIO);
        }
        ino = NativeMemory.getLong(rec);
        nextOffset = NativeMemory.getLong(rec + 8);
        recordLength = reclen;
        type = NativeMemory.getByte(rec + 18) & 0xff;
        nameLength = n;
        decoded = true;
    }

    /** Consumes the entry under the cursor. */
    public void advance() {
        if (decoded) {
            pos += recordLength;
            decoded = false;
        }
    }

    /** d_ino of the current entry. */
    public long ino() {
        return ino;
    }

    /** d_off: the directory offset of the entry after this one (what lseek takes to resume there). */
    public long nextOffset() {
        return nextOffset;
    }

    /** d_type: DT_REG, DT_DIR, ... (the S_IFMT bits shifted right by 12), DT_UNKNOWN is 0. */
    public int type() {
        return type;
    }

    /** Native address of the current entry's NUL-terminated name, valid until {@link #advance()} reads on. */
    public long name() {
        return buffer + pos + NAME_OFFSET;
    }

    public int nameLength() {
        return nameLength;
    }

    /** Whether the current name is "." or "..". */
    public boolean isDotOrDotDot() {
        long a = name();
        return (nameLength == 1 && NativeMemory.getByte(a) == '.')
                || (nameLength == 2 && NativeMemory.getByte(a) == '.' && NativeMemory.getByte(a + 1) == '.');
    }

    /** The current name as a Java string (allocates: for tests and logs, not the request path). */
    public String nameString() {
        return NativeMemory.getString(name(), nameLength);
    }

    /** For tests: makes {@code bytes} the buffered records, as if getdents64 had returned them. */
    void load(byte[] bytes) {
        if (bytes.length > capacity) {
            throw new IllegalArgumentException("more than the buffer holds");
        }
        NativeMemory.putBytes(buffer, bytes, 0, bytes.length);
        pos = 0;
        len = bytes.length;
        decoded = false;
    }

    @Override
    public void close() {
        if (buffer != 0) {
            NativeMemory.free(buffer);
            buffer = 0;
        }
    }
}
