package dev.virtiofsd.passthrough.internal;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;

/** Immutable settings of one passthrough filesystem; build with {@link #of(Path)} and the withers. */
public final class PassthroughOptions {
    /** Cache modes as in virtiofsd {@code --cache}. */
    public enum Cache {
        NEVER,
        METADATA,
        AUTO,
        ALWAYS;

        static Cache parse(String s) {
            switch (s == null ? "auto" : s.trim().toLowerCase(Locale.ROOT)) {
                case "never":
                case "none":
                    return NEVER;
                case "metadata":
                    return METADATA;
                case "auto":
                case "":
                    return AUTO;
                case "always":
                    return ALWAYS;
                default:
                    throw new IllegalArgumentException("cache must be auto, always, never or metadata: " + s);
            }
        }
    }

    private static final long DAY_NANOS = 86_400L * 1_000_000_000L;

    private final Path sharedDir;
    private final Cache cache;
    private final boolean xattr;
    private final boolean readonly;
    private final boolean announceSubmounts;
    private final long inodeFdBudget;
    private final PassthroughFeatures features;

    private PassthroughOptions(
            Path sharedDir,
            Cache cache,
            boolean xattr,
            boolean readonly,
            boolean announceSubmounts,
            long inodeFdBudget) {
        this(sharedDir, cache, xattr, readonly, announceSubmounts, inodeFdBudget, PassthroughFeatures.DEFAULTS);
    }

    private PassthroughOptions(
            Path sharedDir,
            Cache cache,
            boolean xattr,
            boolean readonly,
            boolean announceSubmounts,
            long inodeFdBudget,
            PassthroughFeatures features) {
        this.features = Objects.requireNonNull(features, "features");
        this.sharedDir = Objects.requireNonNull(sharedDir, "sharedDir");
        this.cache = cache;
        this.xattr = xattr;
        this.readonly = readonly;
        this.announceSubmounts = announceSubmounts;
        this.inodeFdBudget = inodeFdBudget;
    }

    public static PassthroughOptions of(Path sharedDir) {
        return new PassthroughOptions(sharedDir, Cache.AUTO, false, false, false, 0);
    }

    /** auto | always | never | metadata. */
    public PassthroughOptions cache(String mode) {
        return new PassthroughOptions(
                sharedDir, Cache.parse(mode), xattr, readonly, announceSubmounts, inodeFdBudget, features);
    }

    public PassthroughOptions cache(Cache mode) {
        return new PassthroughOptions(
                sharedDir, Objects.requireNonNull(mode), xattr, readonly, announceSubmounts, inodeFdBudget, features);
    }

    public PassthroughOptions xattr(boolean on) {
        return new PassthroughOptions(sharedDir, cache, on, readonly, announceSubmounts, inodeFdBudget, features);
    }

    public PassthroughOptions readonly(boolean on) {
        return new PassthroughOptions(sharedDir, cache, xattr, on, announceSubmounts, inodeFdBudget, features);
    }

    public PassthroughOptions announceSubmounts(boolean on) {
        return new PassthroughOptions(sharedDir, cache, xattr, readonly, on, inodeFdBudget, features);
    }

    /**
     * Most fds the inodes may hold together (O_PATH fds of the fd strategy and of fallbacks); a
     * lookup that needs one more gets ENFILE. 0 (the default) derives it from RLIMIT_NOFILE.
     */
    public PassthroughOptions inodeFdBudget(long fds) {
        return new PassthroughOptions(sharedDir, cache, xattr, readonly, announceSubmounts, Math.max(0, fds), features);
    }

    /** The virtiofsd feature switches (ACLs, xattr map, id translation, writeback, ...). */
    public PassthroughOptions features(PassthroughFeatures f) {
        return new PassthroughOptions(sharedDir, cache, xattr, readonly, announceSubmounts, inodeFdBudget, f);
    }

    public PassthroughFeatures features() {
        return features;
    }

    public Path sharedDir() {
        return sharedDir;
    }

    public Cache cacheMode() {
        return cache;
    }

    public boolean xattr() {
        return xattr;
    }

    public boolean readonly() {
        return readonly;
    }

    public boolean announceSubmounts() {
        return announceSubmounts;
    }

    public long inodeFdBudget() {
        return inodeFdBudget;
    }

    /** Entry and attribute timeout, as Rust virtiofsd: never 0, auto 1 s, metadata/always one day. */
    public long timeoutNanos() {
        switch (cache) {
            case NEVER:
                return 0;
            case AUTO:
                return 1_000_000_000L;
            default:
                return DAY_NANOS;
        }
    }

    @Override
    public String toString() {
        return "PassthroughOptions[sharedDir=" + sharedDir + ", cache="
                + cache.name().toLowerCase(Locale.ROOT) + ", xattr=" + xattr + ", readonly=" + readonly
                + ", announceSubmounts=" + announceSubmounts + ", inodeFdBudget=" + inodeFdBudget + ", " + features
                + "]";
    }

    /** The options of configuration {@link PassthroughFileSystem#PID}. */
    static PassthroughOptions fromConfig(PassthroughConfig c) {
        String dir = c.shared_dir();
        if (dir == null || dir.isEmpty()) {
            throw new IllegalArgumentException("shared.dir is not set");
        }
        return PassthroughOptions.of(Path.of(dir))
                .cache(c.cache())
                .xattr(c.xattr())
                .readonly(c.readonly())
                .announceSubmounts(c.announce_submounts())
                .features(PassthroughFeatures.fromConfig(c));
    }
}
