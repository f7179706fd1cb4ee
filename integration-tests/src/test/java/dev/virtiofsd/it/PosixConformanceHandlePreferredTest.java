package dev.virtiofsd.it;

import dev.virtiofsd.strategy.handle.internal.HandlePreferredStrategy;

/** The POSIX conformance set with inodes identified by file handles (virtiofsd "prefer"). */
class PosixConformanceHandlePreferredTest extends PosixConformanceTest {
    @Override
    protected Twins mountTwins() {
        return Twins.mount(new HandlePreferredStrategy(), o -> o.xattr(true));
    }
}
