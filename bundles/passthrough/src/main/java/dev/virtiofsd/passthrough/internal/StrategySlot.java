package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One strategy service opened on this share: its provider, the inodes whose identity it made, and
 * the lookups now making one. The filesystem's current slot makes the identities of new inodes; a
 * slot that stops being current (a switch, or its bundle going away) is retired and its provider
 * closed once it has made its last identity and its last inode has left the store (forgotten or
 * converted to another strategy).
 *
 * <p>Cost on the request path, per new inode: one volatile read of the current slot plus an
 * uncontended {@link LongAdder} increment and decrement around {@code identify}. A retired slot is
 * closed only when no {@code identify} is running on it: a lookup first counts itself in, then checks
 * {@link #retired}; the retiring side sets {@link #retired} first, then reads the count (both
 * sequentially consistent), so one of the two always sees the other.
 */
final class StrategySlot {
    private static final Logger LOG = LoggerFactory.getLogger(StrategySlot.class);

    /** The {@code inode.identity} name the service was registered with. */
    final String name;
    /** The service (null for the filesystem's own fallback). */
    final InodeIdentityStrategy service;

    final IdentityProvider provider;
    private final LongAdder identifying = new LongAdder();
    /** Inodes in the store with an identity made by this slot; guarded by the store's lock. */
    long inodes;

    private volatile boolean retired;
    private boolean closed;

    StrategySlot(String name, InodeIdentityStrategy service, IdentityProvider provider) {
        this.name = name;
        this.service = service;
        this.provider = provider;
    }

    /** Counts one {@code identify} in; false (and nothing counted) when the slot is retired. */
    boolean enter() {
        identifying.increment();
        if (retired) {
            identifying.decrement();
            return false;
        }
        return true;
    }

    /** The {@code identify} counted by {@link #enter()} is over (its inode is in the store, or dropped). */
    void exit(Object storeLock) {
        identifying.decrement();
        if (retired) {
            closeIfUnused(storeLock);
        }
    }

    /**
     * Waits until no {@code identify} runs on this slot. Once it is retired that is final: each one
     * that entered before the retire finishes with its inode in the store (or dropped), and none can
     * enter after it.
     */
    void awaitNoIdentify() {
        while (identifying.sum() != 0) {
            LockSupport.parkNanos(50_000L);
        }
    }

    boolean retired() {
        return retired;
    }

    /** No new identities from now on; closes the provider at once if nothing uses it. */
    void retire(Object storeLock) {
        retired = true;
        closeIfUnused(storeLock);
    }

    /** Called by the store (holding its lock) when one of this slot's inodes left it. */
    void inodeLeftLocked() {
        inodes--;
    }

    /** Closes the provider if retired and unused; safe to call any number of times, from any thread. */
    void closeIfUnused(Object storeLock) {
        synchronized (storeLock) {
            if (!retired || closed || inodes > 0 || identifying.sum() != 0) {
                return;
            }
            closed = true;
        }
        try {
            provider.close();
            LOG.debug("strategy {} closed: its last inode is gone", name);
        } catch (RuntimeException e) {
            LOG.warn("closing strategy {}: {}", name, e.toString());
        }
    }

    boolean closed(Object storeLock) {
        synchronized (storeLock) {
            return closed;
        }
    }

    @Override
    public String toString() {
        return "strategy " + name + (retired ? " (retired, " + inodes + " inodes)" : "");
    }
}
