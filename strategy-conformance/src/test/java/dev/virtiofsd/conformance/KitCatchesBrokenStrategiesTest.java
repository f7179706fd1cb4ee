package dev.virtiofsd.conformance;

import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.api.identity.FileHandle;
import dev.virtiofsd.api.identity.IdentityProvider;
import dev.virtiofsd.api.identity.InodeIdentity;
import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.linux.Linux;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

/** Negative controls: the kit fails strategies that break its rules, so its checks can fail. */
class KitCatchesBrokenStrategiesTest {
    /** Holds an fd per inode but says it holds none, and shows no handle while pinning nothing. */
    static final class Broken implements InodeIdentityStrategy {
        final boolean claimsPinning;

        Broken(boolean claimsPinning) {
            this.claimsPinning = claimsPinning;
        }

        @Override
        public String name() {
            return "broken";
        }

        @Override
        public IdentityProvider open(int rootFd) {
            return new IdentityProvider() {
                @Override
                public InodeIdentity identify(int pathFd, long mountId, int mode) {
                    return new InodeIdentity() {
                        @Override
                        public String kind() {
                            return "broken";
                        }

                        @Override
                        public FileHandle handle() {
                            return null;
                        }

                        @Override
                        public boolean pinsInode() {
                            return claimsPinning;
                        }

                        @Override
                        public int heldFds() {
                            return 0; // a lie: pathFd is kept
                        }

                        @Override
                        public int acquirePath() {
                            return pathFd;
                        }

                        @Override
                        public void releasePath(int fd) {}

                        @Override
                        public int open(int flags) throws ErrnoException {
                            return Linux.reopen(pathFd, flags);
                        }

                        @Override
                        public void close() {} // a leak: pathFd is never closed
                    };
                }

                @Override
                public int heldFds() {
                    return 0;
                }

                @Override
                public void close() {}
            };
        }
    }

    private static void inKit(BrokenStrategyKit kit, ThrowingRunnable test) throws Exception {
        kit.mountExt4();
        try {
            kit.open();
            try {
                test.run();
            } finally {
                kit.close();
            }
        } finally {
            kit.unmountExt4();
        }
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void anUnpinnedIdentityWithoutHandleFails() throws Exception {
        BrokenStrategyKit kit = new BrokenStrategyKit(false);
        inKit(kit, () -> assertThrows(AssertionFailedError.class, kit::anIdentityThatPinsNothingCarriesAHandle));
    }

    @Test
    void fdsHeldButNotCountedFail() throws Exception {
        BrokenStrategyKit kit = new BrokenStrategyKit(true);
        inKit(kit, () -> assertThrows(AssertionFailedError.class, kit::fdsAreCountedExactlyAndAllGivenBack));
    }

    @Test
    void aPinningClaimWithoutAnFdFails() throws Exception {
        BrokenStrategyKit kit = new BrokenStrategyKit(true);
        inKit(kit, () -> assertThrows(AssertionFailedError.class, kit::anIdentityThatPinsNothingCarriesAHandle));
    }
}
