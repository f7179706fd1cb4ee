package dev.virtiofsd.it.evil;

import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.linux.Linux;
import java.util.Map;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;

/**
 * A test-only third-party bundle that misbehaves on purpose (SandboxIT packs it into a jar and
 * drops it in with --bundles): registers the {@link EvilStrategy} as inode.identity=evil, and with
 * EVIL_HOLD_DIR set keeps that host directory open across the sandbox closing.
 */
public final class EvilActivator implements BundleActivator {
    private int heldFd = -1;

    @Override
    public void start(BundleContext context) throws Exception {
        // What a bundle needs of the JDK must be loaded before the sandbox closes: the socket code's
        // native library (libextnet) comes from the JDK's directory, which is out of reach then.
        try (java.net.Socket s = new java.net.Socket()) {
            s.getReceiveBufferSize();
        }
        String hold = System.getenv("EVIL_HOLD_DIR");
        if (hold != null) {
            heldFd = Linux.open(hold, Linux.O_PATH | Linux.O_DIRECTORY, 0);
        }
        context.registerService(
                InodeIdentityStrategy.class,
                new EvilStrategy(),
                FrameworkUtil.asDictionary(Map.of(InodeIdentityStrategy.PROPERTY, EvilStrategy.NAME)));
    }

    @Override
    public void stop(BundleContext context) {
        Linux.close(heldFd);
    }
}
