package dev.virtiofsd.api.transport;

import org.osgi.annotation.versioning.ConsumerType;

/** Marker service a running transport registers, with the property {@value #PROPERTY}. */
@ConsumerType
public interface Transport {
    String PROPERTY = "virtiofsd.transport";

    /** "vhost-user", "fuse-dev", ... */
    String name();
}
