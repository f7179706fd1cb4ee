package dev.virtiofsd.passthrough.internal;

import static dev.virtiofsd.api.Errno.EBADF;
import static dev.virtiofsd.api.Errno.ENOENT;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.fs.DirSink;
import dev.virtiofsd.api.fs.EntryOut;
import dev.virtiofsd.linux.DirectoryReader;
import dev.virtiofsd.linux.Linux;

/**
 * READDIR and READDIRPLUS: fills the guest's reply from an open directory's getdents64 records
 * ({@link DirectoryReader}), resuming where the last reply stopped, or at the offset the guest
 * names (an lseek). READDIRPLUS looks every entry up (which counts a lookup) except "." and "..",
 * as virtiofsd; an entry gone since getdents is skipped.
 */
final class DirectoryListing {
    /** READDIRPLUS's lookup of one entry: counts one lookup of it and fills {@code out}. */
    interface Lookup {
        void lookup(Inode parent, int parentFd, long name, EntryOut out) throws ErrnoException;
    }

    private final Lookup lookup;

    DirectoryListing(Lookup lookup) {
        this.lookup = lookup;
    }

    /**
     * Adds entries of {@code d} from directory offset {@code offset} to {@code sink} until it is full
     * or the directory ends. {@code pfd} is the directory's path fd for READDIRPLUS lookups. An entry
     * that does not fit, or whose lookup failed after others were added, stays for the next call.
     */
    void fill(OpenFile.Dir d, int pfd, long offset, DirSink sink) throws ErrnoException {
        boolean plus = sink.plus();
        synchronized (d) {
            if (d.freed) {
                throw ErrnoException.of(EBADF);
            }
            DirectoryReader r = d.reader;
            if (offset != d.nextOffset) {
                Linux.lseek(d.fd, offset, Linux.SEEK_SET);
                r.discard();
                d.nextOffset = offset;
            }
            int added = 0;
            while (r.hasEntry(d.fd)) {
                long ino = r.ino();
                if (!sink.fits(r.nameLength())) {
                    break;
                }
                if (plus) {
                    EntryOut e = sink.entry();
                    if (r.isDotOrDotDot()) {
                        // No lookup for these (it would count): only ino and type, like virtiofsd.
                        e.clear();
                        e.attr.ino = ino;
                        e.attr.mode = r.type() << 12;
                    } else {
                        try {
                            lookup.lookup(d.inode, pfd, r.name(), e);
                            ino = e.attr.ino;
                        } catch (ErrnoException ex) {
                            if (ex.errno() == ENOENT) {
                                // Gone since getdents: skip it.
                                d.nextOffset = r.nextOffset();
                                r.advance();
                                continue;
                            }
                            if (added > 0) {
                                break;
                            }
                            throw ex;
                        }
                    }
                }
                sink.add(ino, r.nextOffset(), r.type(), r.name(), r.nameLength());
                added++;
                d.nextOffset = r.nextOffset();
                r.advance();
            }
        }
    }
}
