package dev.virtiofsd.conformance;

import dev.virtiofsd.api.identity.InodeIdentityStrategy;

/** The kit on a {@link KitCatchesBrokenStrategiesTest.Broken} strategy (not a test class itself: the negative controls call it). */
final class BrokenStrategyKit extends InodeIdentityStrategyConformance {
    final boolean claimsPinning;

    BrokenStrategyKit(boolean claimsPinning) {
        this.claimsPinning = claimsPinning;
    }

    @Override
    protected InodeIdentityStrategy strategy() {
        return new KitCatchesBrokenStrategiesTest.Broken(claimsPinning);
    }
}
