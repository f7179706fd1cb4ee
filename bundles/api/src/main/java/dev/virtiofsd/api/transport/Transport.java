package dev.virtiofsd.api.transport;

/** Marker service a running transport registers, with the property {@value #PROPERTY}. */
public interface Transport {
    String PROPERTY = "virtiofsd.transport";

    /** "vhost-user", "fuse-dev", ... */
    String name();
}
