package dev.virtiofsd.benchmark;

import dev.virtiofsd.api.identity.InodeIdentityStrategy;
import dev.virtiofsd.api.transport.DaemonControl;
import dev.virtiofsd.fuse.internal.FuseServerImpl;
import dev.virtiofsd.passthrough.internal.PassthroughFileSystem;
import dev.virtiofsd.passthrough.internal.PassthroughOptions;
import dev.virtiofsd.strategy.fd.internal.FdStrategy;
import dev.virtiofsd.strategy.handle.internal.HandleOnlyStrategy;
import dev.virtiofsd.strategy.handle.internal.HandlePreferredStrategy;
import dev.virtiofsd.transport.vhostuser.internal.VhostUserOptions;
import dev.virtiofsd.transport.vhostuser.internal.VhostUserTransport;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * DEVELOPMENT ONLY: our stack wired by hand without Felix (selected with
 * VIRTIOFSD_BENCH_OURS=in-process) for when the launcher does not serve yet. Accepts the
 * benchmark's virtiofsd-style flags; ignores the ones it does not need. The real benchmark runs
 * the distribution's bin/virtiofsd-java.
 */
public final class DevDaemon {
    private DevDaemon() {}

    public static void main(String[] args) throws Exception {
        String shared = null;
        String socket = null;
        String mode = "never";
        int threads = 0;
        for (String a : args) {
            if (a.startsWith("--shared-dir=")) {
                shared = a.substring(13);
            } else if (a.startsWith("--socket-path=")) {
                socket = a.substring(14);
            } else if (a.startsWith("--inode-file-handles=")) {
                mode = a.substring(21);
            } else if (a.startsWith("--thread-pool-size=")) {
                threads = Integer.parseInt(a.substring(19));
            }
        }
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals("--shared-dir")) {
                shared = args[i + 1];
            } else if (args[i].equals("--socket-path")) {
                socket = args[i + 1];
            }
        }
        InodeIdentityStrategy strategy = switch (mode) {
            case "prefer" -> new HandlePreferredStrategy();
            case "mandatory" -> new HandleOnlyStrategy();
            default -> new FdStrategy();
        };
        PassthroughFileSystem fs = new PassthroughFileSystem(PassthroughOptions.of(Path.of(shared)), strategy);
        FuseServerImpl server = new FuseServerImpl(fs);
        CountDownLatch stopped = new CountDownLatch(1);
        int[] status = {0};
        DaemonControl control = new DaemonControl() {
            @Override
            public void stop(int exitStatus, String reason) {
                status[0] = exitStatus;
                stopped.countDown();
            }

            @Override
            public void ready(String what) {}
        };
        VhostUserTransport transport =
                new VhostUserTransport(server, VhostUserOptions.socket(socket).threadPoolSize(threads), control);
        transport.start();
        stopped.await();
        transport.close();
        fs.close();
        System.exit(status[0]);
    }
}
