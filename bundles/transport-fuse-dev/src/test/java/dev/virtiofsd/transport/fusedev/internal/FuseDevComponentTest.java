package dev.virtiofsd.transport.fusedev.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.transport.DaemonControl;
import dev.virtiofsd.api.transport.Transport;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/** The DS component without a framework: BundleContext and config are proxies. */
class FuseDevComponentTest {
    @TempDir
    Path dir;

    final List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
    Dictionary<?, ?> registeredProps;
    Object registeredService;

    DaemonControl control = new DaemonControl() {
        @Override
        public void stop(int exitStatus, String reason) {
            events.add("stop " + exitStatus + " " + reason);
        }

        @Override
        public void ready(String what) {
            events.add("ready " + what);
        }
    };

    BundleContext context() {
        return (BundleContext) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {BundleContext.class}, (p, m, args) -> {
                    if (m.getName().equals("registerService")) {
                        registeredService = args[1];
                        registeredProps = (Dictionary<?, ?>) args[2];
                        return Proxy.newProxyInstance(
                                getClass().getClassLoader(),
                                new Class<?>[] {ServiceRegistration.class},
                                (p2, m2, a2) -> {
                                    if (m2.getName().equals("unregister")) {
                                        events.add("unregistered");
                                    }
                                    return null;
                                });
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
    }

    static FuseDevComponent.Config config(String mountpoint, int threads) {
        return (FuseDevComponent.Config) Proxy.newProxyInstance(
                FuseDevComponentTest.class.getClassLoader(),
                new Class<?>[] {FuseDevComponent.Config.class},
                (p, m, args) -> {
                    switch (m.getName()) {
                        case "mountpoint":
                            return mountpoint;
                        case "threads":
                            return threads;
                        default:
                            throw new UnsupportedOperationException(m.getName());
                    }
                });
    }

    @Test
    void activateMountsRegistersAndReportsReadyDeactivateUnmounts() throws Exception {
        FuseDevComponent c = new FuseDevComponent(
                new FuseDevTransportTest.FakeServer(), control, config(dir.toString(), 2), context());
        try {
            assertTrue(FuseDevTransportTest.isMounted(dir));
            assertEquals(List.of("ready mounted at " + dir), events);
            assertEquals("fuse-dev", registeredProps.get(Transport.PROPERTY));
            assertEquals("fuse-dev", ((Transport) registeredService).name());
        } finally {
            c.deactivate();
        }
        assertFalse(FuseDevTransportTest.isMounted(dir));
        assertEquals(List.of("ready mounted at " + dir, "unregistered"), events);
    }

    @Test
    void startFailureStopsTheDaemonWithOneLineReason() {
        Path missing = dir.resolve("missing");
        FuseDevComponent c = new FuseDevComponent(
                new FuseDevTransportTest.FakeServer(), control, config(missing.toString(), 2), context());
        c.deactivate();
        assertNull(registeredProps, "no Transport service");
        assertEquals(1, events.size(), events.toString());
        assertTrue(events.get(0).startsWith("stop 1 fuse-dev: cannot mount " + missing), events.get(0));
        assertFalse(events.get(0).contains("\n"));
    }

    @Test
    void unmountFromOutsideStopsTheDaemonWithStatusZero() throws Exception {
        FuseDevComponent c = new FuseDevComponent(
                new FuseDevTransportTest.FakeServer(), control, config(dir.toString(), 1), context());
        try {
            dev.virtiofsd.linux.Linux.umount2(dir.toString(), 0);
            for (int i = 0; i < 100 && events.size() < 2; i++) { // the listener runs on a reader thread
                Thread.sleep(50);
            }
            assertEquals("stop 0 fuse-dev: " + dir + " was unmounted", events.get(1));
        } finally {
            c.deactivate();
        }
    }
}
