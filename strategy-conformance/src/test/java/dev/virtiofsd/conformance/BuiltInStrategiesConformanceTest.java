package dev.virtiofsd.conformance;

import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.strategy.fd.internal.FdStrategy;
import dev.virtiofsd.strategy.handle.internal.HandleOnlyStrategy;
import dev.virtiofsd.strategy.handle.internal.HandlePreferredStrategy;
import org.junit.jupiter.api.Nested;

/** The kit run on the daemon's own strategies, as a third party runs it on theirs. */
class BuiltInStrategiesConformanceTest {
    @Nested
    class Fd extends InodeIdentityStrategyConformance {
        @Override
        protected InodeIdentityStrategy strategy() {
            return new FdStrategy();
        }
    }

    @Nested
    class HandlePreferred extends InodeIdentityStrategyConformance {
        @Override
        protected InodeIdentityStrategy strategy() {
            return new HandlePreferredStrategy();
        }
    }

    @Nested
    class HandleOnly extends InodeIdentityStrategyConformance {
        @Override
        protected InodeIdentityStrategy strategy() {
            return new HandleOnlyStrategy();
        }
    }
}
