package dev.virtiofsd.launcher;

import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends the Felix framework's own log (resolver wiring and errors, bundle event failures) to slf4j
 * instead of stdout. Felix takes it as "felix.log.logger"; both of its log paths end here.
 */
public final class FelixLogBridge extends org.apache.felix.framework.Logger {
    private static final Logger LOG = LoggerFactory.getLogger("org.apache.felix.framework");

    /** The felix.log.level matching what slf4j lets through: 1 error, 2 warning, 4 debug. */
    public static String felixLevel() {
        return LOG.isDebugEnabled() ? "4" : LOG.isWarnEnabled() ? "2" : "1";
    }

    @Override
    @SuppressWarnings("rawtypes") // overrides Felix's Logger method, which declares a raw ServiceReference
    protected void doLog(Bundle bundle, ServiceReference sr, int level, String msg, Throwable throwable) {
        doLog(level, bundle == null ? msg : bundle.getSymbolicName() + ": " + msg, throwable);
    }

    @Override
    protected void doLog(int level, String msg, Throwable throwable) {
        switch (level) {
            case LOG_ERROR:
                LOG.error(msg, throwable);
                break;
            case LOG_WARNING:
                LOG.warn(msg, throwable);
                break;
            case LOG_INFO:
                LOG.info(msg, throwable);
                break;
            default:
                LOG.debug(msg, throwable);
                break;
        }
    }
}
