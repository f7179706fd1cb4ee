package dev.virtiofsd.passthrough.internal;

import static dev.virtiofsd.api.Errno.EBADF;
import static dev.virtiofsd.api.Errno.EIO;
import static dev.virtiofsd.api.Errno.ENOENT;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.DirSink;
import dev.virtiofsd.api.fs.EntryOut;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;

/**
 * READDIR and READDIRPLUS: fills the guest's reply from an open directory's getdents64 records,
 * resuming where the last reply stopped (or at the offset the guest names: an lseek). READDIRPLUS
 * looks every entry up (which counts a lookup), except "." and "..", as virtiofsd.
 */
final class DirectoryListing {
    /** READDIRPLUS's lookup of one entry: the inode with a reference for the caller. */
    interface Lookup {
        Inode lookupIn(Inode parent, int parentFd, long name, EntryOut out) throws ErrnoException;
    }

    private final Lookup lookup;

    DirectoryListing(Lookup lookup) {
        this.lookup = lookup;
    }

    /**
     * Adds entries of {@code d} from directory offset {@code offset} to {@code sink} until it is full
     * or the directory ends. {@code pfd} is the directory's path fd for READDIRPLUS lookups.
     */
    void fill(OpenFile.Dir d, int pfd, long offset, DirSink sink) throws ErrnoException {
        boolean plus = sink.plus();
        synchronized (d) {
            if (d.buffer == 0) {
                throw ErrnoException.of(EBADF);
            }
            if (offset != d.nextOffset) {
                Linux.lseek(d.fd, offset, Linux.SEEK_SET);
                d.pos = d.len = 0;
                d.nextOffset = offset;
            }
            int added = 0;
            while (true) {
                if (d.pos >= d.len) {
                    int n = Linux.getdents64(d.fd, d.buffer, OpenFile.Dir.BUFFER);
                    d.pos = 0;
                    d.len = n;
                    if (n <= 0) {
                        break;
                    }
                }
                long rec = d.buffer + d.pos;
                long ino = NativeMemory.getLong(rec);
                long off = NativeMemory.getLong(rec + 8);
                int reclen = NativeMemory.getShort(rec + 16) & 0xffff;
                int type = NativeMemory.getByte(rec + 18) & 0xff;
                long name = rec + 19;
                if (reclen == 0 || d.pos + reclen > d.len) {
                    throw ErrnoException.of(EIO);
                }
                int nameLen = NativeMemory.strnlen(name, reclen - 19);
                if (nameLen < 0) {
                    throw ErrnoException.of(EIO);
                }
                if (!sink.fits(nameLen)) {
                    break;
                }
                if (plus) {
                    EntryOut e = sink.entry();
                    if (InodeLookup.isDotOrDotDot(name)) {
                        // No lookup for these (it would count): only ino and type, like virtiofsd.
                        e.clear();
                        e.attr.ino = ino;
                        e.attr.mode = type << 12;
                    } else {
                        try {
                            lookup.lookupIn(d.inode, pfd, name, e).release();
                            ino = e.attr.ino;
                        } catch (ErrnoException ex) {
                            if (ex.errno() == ENOENT) {
                                // Gone since getdents: skip it.
                                d.pos += reclen;
                                d.nextOffset = off;
                                continue;
                            }
                            if (added > 0) {
                                break;
                            }
                            throw ex;
                        }
                    }
                }
                sink.add(ino, off, type, name, nameLen);
                added++;
                d.pos += reclen;
                d.nextOffset = off;
            }
        }
    }
}
