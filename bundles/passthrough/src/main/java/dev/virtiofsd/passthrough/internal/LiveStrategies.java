package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.config.PassthroughConfiguration;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.Statx;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which inode-identity strategy makes new inodes, and changing it while the share is served: the
 * strategy services Declarative Services binds (dynamically), the one the configuration wants, a
 * switch ({@link #select}), a strategy going away ({@link #unbind}: its inodes are converted while
 * its code still runs) and the conversion of fd-held inodes (on request, or near the fd budget).
 * Each inode records the {@link StrategySlot} that made it.
 */
final class LiveStrategies {
    /** Named after the filesystem: what an operator greps for did not move. */
    private static final Logger LOG = LoggerFactory.getLogger(PassthroughFileSystem.class);

    /** Makes the identities of new inodes (read once per new inode). */
    private volatile StrategySlot current;
    /** Strategy services registered now, by their inode.identity name (DS binds them, dynamically). */
    private final ConcurrentHashMap<String, InodeIdentityStrategy> bound = new ConcurrentHashMap<>();
    /** The strategy the configuration names; missing from {@link #bound} while its bundle is away. */
    private volatile String wanted;
    /** Every slot opened on this share whose provider may still be open (pruned at each unbind). */
    private final Set<StrategySlot> opened = ConcurrentHashMap.newKeySet();
    /** Serialises switches, binds, unbinds and conversions; never taken on the request path. */
    private final Object switchLock = new Object();

    private volatile boolean closed;
    /** Set once by {@link #attach} before the share is served; volatile for the threads that read them. */
    private volatile InodeStore store;

    private volatile int rootFd = -1;
    /** Fds held by inodes above which fd-held inodes are converted to the current strategy, if it sheds them. */
    private volatile long autoConvertAbove = Long.MAX_VALUE;

    private final AtomicBoolean autoConverting = new AtomicBoolean();
    /** The slot whose conversion gave fd identities again: no automatic retry until the strategy changes. */
    private volatile StrategySlot autoConvertUseless;

    /** The share's root and inode store, once the filesystem starts; {@code budget} is the store's fd budget. */
    void attach(InodeStore store, int rootFd, long budget) {
        this.store = store;
        this.rootFd = rootFd;
        this.autoConvertAbove = budget == Long.MAX_VALUE ? Long.MAX_VALUE : budget - budget / 8;
    }

    /** {@code slot} (opened by {@link #open}) makes new inodes from now on, as strategy {@code name}. */
    void begin(String name, StrategySlot slot) {
        this.wanted = name;
        this.current = slot;
    }

    /** The strategy registered under {@code name}, or null. */
    InodeIdentityStrategy bound(String name) {
        return bound.get(name);
    }

    /** The slot new inodes get now (null before the filesystem starts). */
    StrategySlot current() {
        return current;
    }

    String wanted() {
        return wanted;
    }

    /** The current slot, entered (see {@link StrategySlot#enter}): the caller exits it when done. */
    StrategySlot enterCurrent() {
        StrategySlot slot = current;
        while (!slot.enter()) {
            slot = current; // retired by a switch since the read: the new one is current
        }
        return slot;
    }

    /** After a new inode: converts in the background when inodes hold most of the fd budget. */
    void afterInsert() {
        if (store.fds() > autoConvertAbove) {
            maybeAutoConvert();
        }
    }

    /** No switch, bind or conversion from now on; the caller retires the current slot. */
    void close() {
        synchronized (switchLock) {
            closed = true;
        }
    }

    /** Opens {@code strategy} on this share; IllegalStateException with its one-line reason if it cannot. */
    StrategySlot open(String name, InodeIdentityStrategy strategy) {
        if (strategy == null) {
            throw new IllegalArgumentException("no inode-identity strategy named " + name);
        }
        try {
            StrategySlot slot = new StrategySlot(name, strategy, strategy.open(rootFd));
            opened.add(slot);
            return slot;
        } catch (ErrnoException e) {
            throw new IllegalStateException(
                    "strategy " + name + " cannot open the shared directory: " + e.getMessage());
        }
    }

    /** A strategy service registered under {@code name}; the configured one coming back is used again. */
    void bind(String name, InodeIdentityStrategy strategy) {
        bound.put(name, strategy);
        StrategySlot cur = current;
        if (cur != null && !closed && name.equals(wanted) && cur.service != strategy) {
            // The configured strategy is back (its bundle was updated or restarted): new inodes get it again.
            try {
                select(name);
            } catch (RuntimeException e) {
                LOG.error("strategy {} is back but cannot be used: {}", name, e.getMessage());
            }
        }
    }

    /**
     * A strategy service goes away (its bundle stops, or is being updated: either way its code may
     * not outlive this call). If new inodes got it, they get the filesystem's own O_PATH fds until a
     * strategy of the configured name is registered again. Every inode whose identity it made is
     * converted now, while its code still runs, to the identity new inodes get; inodes that cannot be
     * converted (gone on the host, fd budget) keep theirs until forgotten. An old identity that a
     * request in flight or an open file still holds is closed by its last user (see {@link #convert}).
     */
    void unbind(String name, InodeIdentityStrategy strategy) {
        bound.remove(name, strategy);
        if (current == null || closed) {
            return;
        }
        synchronized (switchLock) {
            StrategySlot cur = current;
            if (cur.service == strategy) {
                current = new StrategySlot(OwnFdIdentity.STRATEGY, null, OwnFdIdentity.PROVIDER);
                cur.retire(store.lock());
                LOG.warn(
                        "strategy {} went away (bundle stopped or updated): new inodes get O_PATH fds until it is"
                                + " back",
                        name);
            }
            // A lookup that entered one of its slots before the retire may still be identifying: its
            // inode reaches the store after a snapshot taken now and would keep code whose class
            // loader a bundle refresh throws away. Retired slots admit no new lookup, so wait for
            // those (one identify and one store insert each) before choosing what to convert.
            for (StrategySlot s : opened) {
                if (s.service == strategy && s.retired()) {
                    s.awaitNoIdentify();
                }
            }
            opened.removeIf(s -> s.closed(store.lock()));
            List<Inode> its = store.select(i -> i.slot != null && i.slot.service == strategy);
            long moved = 0;
            try {
                for (Inode i : its) {
                    if (convert(i, current, false) > 0) {
                        moved++;
                    }
                }
            } finally {
                releaseAll(its);
            }
            if (moved < its.size()) {
                LOG.warn(
                        "strategy {} went away: {} of its {} inodes keep its identities until forgotten (gone on"
                                + " the host, or over the fd budget)",
                        name,
                        its.size() - moved,
                        its.size());
            } else if (moved > 0) {
                LOG.info("strategy {} went away: its {} inodes now have {} identities", name, moved, current.name);
            }
        }
    }

    List<String> available() {
        List<String> names = new ArrayList<>(bound.keySet());
        names.sort(null);
        return names;
    }

    /**
     * New inodes get strategy {@code name} from now on; the inodes already known keep the identity
     * (and the strategy instance) that made them, which closes when the last of them is forgotten.
     */
    void select(String name) {
        synchronized (switchLock) {
            if (closed || current == null) {
                throw new IllegalStateException("the filesystem is closed");
            }
            InodeIdentityStrategy s = bound.get(name);
            if (s == null) {
                throw new IllegalArgumentException("no inode-identity strategy named " + name + " (available: "
                        + String.join(", ", available()) + ")");
            }
            StrategySlot cur = current;
            wanted = name;
            if (cur.service == s) {
                return;
            }
            StrategySlot fresh = open(name, s);
            current = fresh;
            cur.retire(store.lock());
            LOG.info("new inodes get strategy {} (was {})", name, cur.name);
        }
    }

    /** Converts up to {@code max} fd-held inodes to the current strategy, if it sheds fds; returns how many. */
    long convertFdInodes(long max) {
        synchronized (switchLock) {
            StrategySlot target = current;
            long n = 0;
            List<Inode> held = store.select(i -> i.identity.heldFds() > 0);
            try {
                for (Inode i : held) {
                    if (n >= max || closed) {
                        break;
                    }
                    int r = convert(i, target, true);
                    if (r < 0) {
                        break; // the current strategy holds fds itself: nothing to shed
                    }
                    n += r;
                }
            } finally {
                releaseAll(held);
            }
            return n;
        }
    }

    private static void releaseAll(List<Inode> held) {
        for (Inode i : held) {
            i.release();
        }
    }

    /**
     * Gives {@code old} (on which the caller holds a reference) an identity made by {@code target},
     * keeping its node id, lookup count and lock fds. Returns 1 when done, 0 when this inode keeps its
     * identity (gone on the host, handle taken, budget), -1 when {@code fdless} was asked and the
     * target made an identity that holds fds (so it sheds none).
     *
     * <p>Ownership: the new inode takes {@code old}'s place in the store, and the store's reference on
     * {@code old} is dropped; requests still using {@code old} (and open files on it) keep it, its
     * identity and its fd until the last of them is done, exactly as after a FORGET. Nothing here
     * closes an fd that a request may be using.
     */
    private int convert(Inode old, StrategySlot target, boolean fdless) {
        if (old.slot == target || old.identity instanceof LostIdentity || !target.enter()) {
            return 0;
        }
        try {
            int dup;
            try (InodeUse u = InodeUse.of(old)) {
                dup = Linux.dup(u.pathFd());
            } catch (ErrnoException e) {
                return 0; // e.g. ESTALE: the file is gone on the host; it keeps its identity until forgotten
            }
            Statx st = ThreadScratch.get().statx;
            try {
                st.ofFd(dup);
            } catch (ErrnoException e) {
                Linux.close(dup);
                return 0;
            }
            try {
                if (st.ino() != old.ids.ino || st.dev() != old.ids.dev || st.mountIdOf(dup) != old.mntId) {
                    Linux.close(dup);
                    return 0;
                }
            } catch (ErrnoException e) {
                Linux.close(dup);
                return 0;
            }
            InodeIdentity id;
            try {
                id = target.provider.identify(dup, old.mntId, old.mode);
            } catch (ErrnoException | RuntimeException e) {
                return 0;
            }
            if (fdless && id.heldFds() > 0) {
                id.close();
                return -1;
            }
            Inode fresh = new Inode(old.nodeId, id, old.ids, old.mode, old.root, target);
            fresh.takeOverLocks(old);
            if (!store.replace(old, fresh)) {
                id.close(); // fresh was never visible: its identity is all it holds
                return 0;
            }
            old.locksHandedOver();
            old.release(); // the store's reference; the caller's keeps old alive until it is done
            return 1;
        } finally {
            target.exit(store.lock());
        }
    }

    /** Near the end of the fd budget: converts fd-held inodes in the background, if the strategy sheds fds. */
    void maybeAutoConvert() {
        StrategySlot cur = current;
        if (cur == autoConvertUseless || !autoConverting.compareAndSet(false, true)) {
            return;
        }
        Thread t = new Thread(
                () -> {
                    try {
                        long before = store.fds();
                        long n = convertFdInodes(Math.max(1, before / 4));
                        if (n == 0) {
                            autoConvertUseless = cur;
                        }
                        LOG.info(
                                "fd budget nearly used ({} inode fds): {} inodes converted to strategy {}",
                                before,
                                n,
                                cur.name);
                    } finally {
                        autoConverting.set(false);
                    }
                },
                "virtiofsd-convert");
        t.setDaemon(true);
        t.start();
    }

    /** A strategy service's name: its inode.identity property, else what it says. */
    static String serviceName(InodeIdentityStrategy strategy, Map<String, Object> properties) {
        Object n = properties.get(InodeIdentityStrategy.PROPERTY);
        return n instanceof String s ? s : strategy.name();
    }

    /** Key {@code strategy}; the older {@code strategy.target} filter "(inode.identity=NAME)" is understood too. */
    static String configuredName(PassthroughConfig config, Map<String, Object> properties) {
        String name = config.strategy();
        if (name != null && !name.isEmpty()) {
            return name;
        }
        Object target = properties.get("strategy.target");
        if (target instanceof String t) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(inode\\.identity=([^()]+)\\)")
                    .matcher(t);
            if (m.matches()) {
                return m.group(1);
            }
        }
        return PassthroughConfiguration.STRATEGY_DEFAULT;
    }
}
