package dev.virtiofsd.it;

/** The POSIX conformance set with cache=never (direct I/O, no attribute or entry caching). */
class PosixConformanceCacheNeverTest extends PosixConformanceTest {
    @Override
    protected Twins mountTwins() {
        return Twins.mount(o -> o.xattr(true).cache("never"));
    }
}
