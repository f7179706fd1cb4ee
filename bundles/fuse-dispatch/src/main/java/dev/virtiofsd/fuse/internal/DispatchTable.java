package dev.virtiofsd.fuse.internal;

import static dev.virtiofsd.fuse.internal.FuseProtocol.*;

import dev.virtiofsd.api.ErrnoException;

/**
 * FUSE opcode → handler, one table per worker (handlers hold the worker's reusable buffers).
 * An opcode without an entry is answered ENOSYS.
 */
final class DispatchTable {
    /** One FUSE operation: decodes its arguments, calls the filesystem, encodes the reply body. */
    @FunctionalInterface
    interface Operation {
        /** Returns the reply body length, -errno, or {@link FuseProtocol#NO_REPLY}. */
        int serve() throws ErrnoException;
    }

    private final Operation[] byOpcode = new Operation[OPCODE_SLOTS];

    DispatchTable(Operations.Shared shared) {
        SessionOperations s = new SessionOperations(shared);
        InodeOperations i = new InodeOperations(shared);
        FileOperations f = new FileOperations(shared);
        XattrLockOperations x = new XattrLockOperations(shared);

        put(INIT, s::init);
        put(DESTROY, s::destroy);
        put(INTERRUPT, s::interrupt);
        put(STATFS, s::statfs);
        put(SYNCFS, s::syncfs);

        put(LOOKUP, i::lookup);
        put(FORGET, i::forget);
        put(BATCH_FORGET, i::batchForget);
        put(GETATTR, i::getattr);
        put(SETATTR, i::setattr);
        put(READLINK, i::readlink);
        put(SYMLINK, i::symlink);
        put(MKNOD, i::mknod);
        put(MKDIR, i::mkdir);
        put(UNLINK, i::unlinkOrRmdir);
        put(RMDIR, i::unlinkOrRmdir);
        put(RENAME, () -> i.rename(RENAME_IN, false));
        put(RENAME2, () -> i.rename(RENAME2_IN, true));
        put(LINK, i::link);
        put(ACCESS, i::access);

        put(OPEN, f::open);
        put(OPENDIR, f::open);
        put(CREATE, f::create);
        put(TMPFILE, f::tmpfile);
        put(READ, f::read);
        put(WRITE, f::write);
        put(FLUSH, f::flush);
        put(RELEASE, f::release);
        put(RELEASEDIR, f::release);
        put(FSYNC, f::fsync);
        put(FSYNCDIR, f::fsync);
        put(READDIR, () -> f.readdir(false));
        put(READDIRPLUS, () -> f.readdir(true));
        put(FALLOCATE, f::fallocate);
        put(LSEEK, f::lseek);
        put(COPY_FILE_RANGE, f::copyFileRange);

        put(SETXATTR, x::setxattr);
        put(GETXATTR, x::getxattr);
        put(LISTXATTR, x::listxattr);
        put(REMOVEXATTR, x::removexattr);
        put(GETLK, x::getlk);
        put(SETLK, () -> x.setlk(false));
        put(SETLKW, () -> x.setlk(true));
    }

    private void put(int opcode, Operation op) {
        byOpcode[opcode] = op;
    }

    /** The handler of {@code opcode}, or null when it is not served. */
    Operation get(int opcode) {
        return opcode > 0 && opcode < byOpcode.length ? byOpcode[opcode] : null;
    }
}
