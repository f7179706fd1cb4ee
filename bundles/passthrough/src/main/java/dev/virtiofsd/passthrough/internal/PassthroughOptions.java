package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.config.PassthroughConfiguration;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;

/**
 * Immutable settings of one passthrough filesystem. {@link #of(Path)} starts from every switch off
 * (what tests and tools build on); the component reads {@link #fromConfig}, whose defaults are the
 * configuration's (virtiofsd's).
 *
 * @param sharedDir the host directory
 * @param cacheMode entry/attribute caching (virtiofsd --cache)
 * @param xattr extended attributes
 * @param readonly refuse every modification
 * @param announceSubmounts tell the guest which directories are mount points
 * @param inodeFdBudget most fds the inodes may hold together (O_PATH fds of the fd strategy and of
 *     fallbacks); a lookup that needs one more gets ENFILE. 0 derives it from RLIMIT_NOFILE
 * @param features the virtiofsd feature switches (ACLs, xattr map, id translation, writeback, ...)
 */
public record PassthroughOptions(
        Path sharedDir,
        Cache cacheMode,
        boolean xattr,
        boolean readonly,
        boolean announceSubmounts,
        long inodeFdBudget,
        PassthroughFeatures features) {
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

    public PassthroughOptions {
        Objects.requireNonNull(sharedDir, "sharedDir");
        Objects.requireNonNull(cacheMode, "cacheMode");
        Objects.requireNonNull(features, "features");
        inodeFdBudget = Math.max(0, inodeFdBudget);
    }

    public static PassthroughOptions of(Path sharedDir) {
        return new PassthroughOptions(sharedDir, Cache.AUTO, false, false, false, 0, PassthroughFeatures.DEFAULTS);
    }

    /** auto | always | never | metadata. */
    public PassthroughOptions cache(String mode) {
        return cache(Cache.parse(mode));
    }

    public PassthroughOptions cache(Cache mode) {
        return new PassthroughOptions(sharedDir, mode, xattr, readonly, announceSubmounts, inodeFdBudget, features);
    }

    public PassthroughOptions xattr(boolean on) {
        return new PassthroughOptions(sharedDir, cacheMode, on, readonly, announceSubmounts, inodeFdBudget, features);
    }

    public PassthroughOptions readonly(boolean on) {
        return new PassthroughOptions(sharedDir, cacheMode, xattr, on, announceSubmounts, inodeFdBudget, features);
    }

    public PassthroughOptions announceSubmounts(boolean on) {
        return new PassthroughOptions(sharedDir, cacheMode, xattr, readonly, on, inodeFdBudget, features);
    }

    /** See {@link #inodeFdBudget()}; a negative budget is 0. */
    public PassthroughOptions inodeFdBudget(long fds) {
        return new PassthroughOptions(sharedDir, cacheMode, xattr, readonly, announceSubmounts, fds, features);
    }

    public PassthroughOptions features(PassthroughFeatures f) {
        return new PassthroughOptions(sharedDir, cacheMode, xattr, readonly, announceSubmounts, inodeFdBudget, f);
    }

    /** Entry and attribute timeout, as Rust virtiofsd: never 0, auto 1 s, metadata/always one day. */
    public long timeoutNanos() {
        switch (cacheMode) {
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
                + cacheMode.name().toLowerCase(Locale.ROOT) + ", xattr=" + xattr + ", readonly=" + readonly
                + ", announceSubmounts=" + announceSubmounts + ", inodeFdBudget=" + inodeFdBudget + ", " + features
                + "]";
    }

    /** The options of configuration {@link PassthroughComponent#PID}. */
    static PassthroughOptions fromConfig(PassthroughConfig c) {
        String dir = c.shared_dir();
        if (dir == null || dir.isEmpty()) {
            throw new IllegalArgumentException(PassthroughConfiguration.SHARED_DIR + " is not set");
        }
        return new PassthroughOptions(
                Path.of(dir),
                Cache.parse(c.cache()),
                c.xattr(),
                c.readonly(),
                c.announce_submounts(),
                0,
                PassthroughFeatures.fromConfig(c));
    }
}
