package dev.virtiofsd.passthrough.internal;

import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * A counted reference holder: {@link Inode} and {@link OpenFile} share it. Born with one reference
 * (the store's, or the fh map's); {@link #tryRetain()} takes one more only while any is left, so a
 * request cannot revive what its last user already freed; the last {@link #release()} runs
 * {@link #free()} exactly once. A field updater, not an AtomicInteger: nothing is allocated beside
 * the object itself.
 */
abstract class RefCounted {
    private static final AtomicIntegerFieldUpdater<RefCounted> REFS =
            AtomicIntegerFieldUpdater.newUpdater(RefCounted.class, "refs");

    /** The owner's reference (1 at birth) plus one per user. */
    private volatile int refs = 1;

    /** Takes one more reference if any is left; false once the last one is gone. */
    final boolean tryRetain() {
        while (true) {
            int r = refs;
            if (r <= 0) {
                return false;
            }
            if (REFS.compareAndSet(this, r, r + 1)) {
                return true;
            }
        }
    }

    /** Takes one more reference for a caller that already holds one. */
    final void retain() {
        if (!tryRetain()) {
            throw new IllegalStateException("retain of a released " + this);
        }
    }

    /** Drops one reference; the last one frees what the object holds. */
    final void release() {
        int r = REFS.decrementAndGet(this);
        if (r == 0) {
            free();
        } else if (r < 0) {
            throw new IllegalStateException("over-release of " + this);
        }
    }

    /** References held now, for tests. */
    final int refs() {
        return refs;
    }

    /** Runs once, when the last reference goes. */
    abstract void free();
}
