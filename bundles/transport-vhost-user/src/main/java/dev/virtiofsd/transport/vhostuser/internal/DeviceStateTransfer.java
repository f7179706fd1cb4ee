package dev.virtiofsd.transport.vhostuser.internal;

import dev.virtiofsd.api.transport.FuseSession;
import dev.virtiofsd.api.transport.FuseStateTransfer;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One device-state transfer (vhost-user {@code SET_DEVICE_STATE_FD} ... {@code CHECK_DEVICE_STATE}).
 * The bytes move on a thread of their own: the front end reads (or writes) the pipe only after it
 * got the reply to SET_DEVICE_STATE_FD, and a pipe holds 64 KiB, so the message loop must be free
 * meanwhile. {@link #finish} waits for the thread and tells whether everything went through.
 */
final class DeviceStateTransfer {
    private static final Logger LOG = LoggerFactory.getLogger(DeviceStateTransfer.class);

    private final Thread thread;
    private final boolean saving;
    private volatile boolean ok;
    private volatile FuseSession loaded;
    private volatile String failure;

    private DeviceStateTransfer(boolean saving, Runnable body) {
        this.saving = saving;
        this.thread = new Thread(body, saving ? "vhost-user-state-save" : "vhost-user-state-load");
        this.thread.setDaemon(true);
    }

    /** Writes {@code session}'s state to {@code fd} (which it closes, marking the end of the state). */
    static DeviceStateTransfer save(FuseStateTransfer server, FuseSession session, int fd) {
        DeviceStateTransfer[] self = new DeviceStateTransfer[1];
        self[0] = new DeviceStateTransfer(true, () -> {
            long start = System.nanoTime();
            try (FdStreams.Out out = new FdStreams.Out(fd)) {
                server.save(session, out);
                out.flush();
                self[0].ok = true;
            } catch (IOException | RuntimeException e) {
                self[0].fail("saving the device state failed: " + e.getMessage(), e);
            }
            if (self[0].ok) {
                LOG.info("device state saved in {} ms", (System.nanoTime() - start) / 1_000_000);
            }
        });
        self[0].thread.start();
        return self[0];
    }

    /** Reads a state from {@code fd} (closed at the end) into a new session. */
    static DeviceStateTransfer load(FuseStateTransfer server, int maxWrite, int fd) {
        DeviceStateTransfer[] self = new DeviceStateTransfer[1];
        self[0] = new DeviceStateTransfer(false, () -> {
            long start = System.nanoTime();
            FdStreams.In in = new FdStreams.In(fd);
            try {
                FuseSession s = server.load(maxWrite, in);
                if (in.read() != -1) {
                    if (s != null) {
                        s.close();
                    }
                    throw new IOException("trailing bytes after the device state");
                }
                self[0].loaded = s;
                self[0].ok = true;
            } catch (IOException | RuntimeException e) {
                self[0].fail("loading the device state failed: " + e.getMessage(), e);
                try {
                    in.drain();
                } catch (IOException ignored) {
                    // the writer is gone: nothing left to drain
                }
            } finally {
                in.close();
            }
            if (self[0].ok) {
                LOG.info("device state loaded in {} ms", (System.nanoTime() - start) / 1_000_000);
            }
        });
        self[0].thread.start();
        return self[0];
    }

    private void fail(String why, Exception e) {
        failure = why;
        if (e instanceof IOException) {
            LOG.error("{}", why);
        } else {
            LOG.error("{}", why, e);
        }
    }

    boolean saving() {
        return saving;
    }

    /** Waits for the transfer to end; true if it succeeded. */
    boolean finish() {
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return ok;
    }

    /** The session a successful load produced (null if the source had none). */
    FuseSession loadedSession() {
        return loaded;
    }

    String failure() {
        return failure;
    }
}
