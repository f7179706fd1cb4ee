package dev.virtiofsd.transport.vhostuser.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** Blocking streams over a pipe or socket fd (the device-state channel); each owns and closes its fd. */
final class FdStreams {
    private static final int BUFFER = 64 * 1024;

    private FdStreams() {}

    static final class Out extends OutputStream {
        private int fd;
        private final long buf = NativeMemory.allocate(BUFFER);
        private int used;

        Out(int fd) {
            this.fd = fd;
        }

        @Override
        public void write(int b) throws IOException {
            if (used == BUFFER) {
                flush();
            }
            NativeMemory.putByte(buf + used++, (byte) b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                if (used == BUFFER) {
                    flush();
                }
                int n = Math.min(len, BUFFER - used);
                NativeMemory.putBytes(buf + used, b, off, n);
                used += n;
                off += n;
                len -= n;
            }
        }

        @Override
        public void flush() throws IOException {
            int done = 0;
            while (done < used) {
                try {
                    done += Linux.write(fd, buf + done, used - done);
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.EINTR) {
                        throw new IOException("device state channel: " + e.getMessage(), e);
                    }
                }
            }
            used = 0;
        }

        @Override
        public void close() throws IOException {
            if (fd < 0) {
                return;
            }
            try {
                flush();
            } finally {
                Linux.close(fd);
                fd = -1;
                NativeMemory.free(buf);
            }
        }
    }

    static final class In extends InputStream {
        private int fd;
        private final long buf = NativeMemory.allocate(BUFFER);
        private int pos;
        private int limit;
        private boolean eof;

        In(int fd) {
            this.fd = fd;
        }

        private boolean fill() throws IOException {
            if (eof) {
                return false;
            }
            while (true) {
                try {
                    int n = Linux.read(fd, buf, BUFFER);
                    if (n == 0) {
                        eof = true;
                        return false;
                    }
                    pos = 0;
                    limit = n;
                    return true;
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.EINTR) {
                        throw new IOException("device state channel: " + e.getMessage(), e);
                    }
                }
            }
        }

        @Override
        public int read() throws IOException {
            if (pos == limit && !fill()) {
                return -1;
            }
            return NativeMemory.getByte(buf + pos++) & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (pos == limit && !fill()) {
                return -1;
            }
            int n = Math.min(len, limit - pos);
            NativeMemory.getBytes(buf + pos, b, off, n);
            pos += n;
            return n;
        }

        /** Reads and drops everything up to end of stream, so that the writer never blocks on a full pipe. */
        void drain() throws IOException {
            while (fill()) {
                pos = limit;
            }
        }

        @Override
        public void close() {
            if (fd < 0) {
                return;
            }
            Linux.close(fd);
            fd = -1;
            NativeMemory.free(buf);
        }
    }
}
