package org.example.hybrid.internal;

import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.conformance.InodeIdentityStrategyConformance;

/** The daemon's strategy conformance kit, run on this strategy in its own build. */
class HybridConformanceTest extends InodeIdentityStrategyConformance {
    @Override
    protected InodeIdentityStrategy strategy() {
        return HybridStrategy.withHotFds(8);
    }
}
