package dev.virtiofsd.control.internal;

import dev.virtiofsd.api.introspect.OpcodeStats;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.ToLongFunction;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers {@code dev.virtiofsd:type=Inodes} and {@code dev.virtiofsd:type=Requests} in the platform
 * MBean server. Every read takes a fresh snapshot from the same {@link Figures} the {@code stats}
 * command prints.
 */
@Component(
        immediate = true,
        service = {})
public final class DaemonMXBeans {
    static final String INODES = "dev.virtiofsd:type=Inodes";
    static final String REQUESTS = "dev.virtiofsd:type=Requests";
    private static final Logger LOG = LoggerFactory.getLogger(DaemonMXBeans.class);

    private final MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    private final ControlCommands commands;

    @Activate
    public DaemonMXBeans(@Reference(name = "commands") ControlCommands commands) throws JMException {
        this.commands = commands;
        register(INODES, new Inodes());
        register(REQUESTS, new Requests());
    }

    private void register(String name, Object bean) throws JMException {
        ObjectName n = new ObjectName(name);
        if (server.isRegistered(n)) {
            server.unregisterMBean(n); // left by an earlier instance of this bundle
        }
        server.registerMBean(bean, n);
    }

    @Deactivate
    void unregister() {
        for (String name : new String[] {INODES, REQUESTS}) {
            try {
                server.unregisterMBean(new ObjectName(name));
            } catch (JMException e) {
                LOG.debug("unregister {}: {}", name, e.toString());
            }
        }
    }

    final class Inodes implements InodesMXBean {
        @Override
        public String getStrategy() {
            return commands.figures().strategy;
        }

        @Override
        public long getInodes() {
            return commands.figures().inodes;
        }

        @Override
        public Map<String, Long> getInodesByKind() {
            return commands.figures().inodesByKind;
        }

        @Override
        public Map<String, Long> getInodesByStrategy() {
            return commands.figures().inodesByStrategy;
        }

        @Override
        public long getInodeFds() {
            return commands.figures().inodeFds;
        }

        @Override
        public long getOpenFds() {
            return commands.figures().openFds;
        }

        @Override
        public long getOpenFiles() {
            return commands.figures().openFiles;
        }

        @Override
        public void switchStrategy(String name) throws Exception {
            commands.strategy(name);
        }

        @Override
        public String convertFdInodes(long max) {
            return commands.convert(max);
        }
    }

    final class Requests implements RequestsMXBean {
        private Map<String, Long> column(ToLongFunction<OpcodeStats> f) {
            Map<String, Long> m = new LinkedHashMap<>();
            for (Map.Entry<String, OpcodeStats> e : commands.figures().requests.entrySet()) {
                m.put(e.getKey(), f.applyAsLong(e.getValue()));
            }
            return m;
        }

        @Override
        public boolean isLatencyMeasured() {
            return commands.figures().latencyMeasured;
        }

        @Override
        public Map<String, Long> getCounts() {
            return column(OpcodeStats::count);
        }

        @Override
        public Map<String, Long> getErrors() {
            return column(OpcodeStats::errors);
        }

        @Override
        public Map<String, Long> getP50Nanos() {
            return column(OpcodeStats::p50Nanos);
        }

        @Override
        public Map<String, Long> getP90Nanos() {
            return column(OpcodeStats::p90Nanos);
        }

        @Override
        public Map<String, Long> getP99Nanos() {
            return column(OpcodeStats::p99Nanos);
        }

        @Override
        public Map<String, Long> getMaxNanos() {
            return column(OpcodeStats::maxNanos);
        }
    }
}
