package dev.virtiofsd.api.identity;

import dev.virtiofsd.api.ErrnoException;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * An inode-identity strategy, registered as an OSGi service with the property
 * {@value #PROPERTY}{@code =NAME}. Built-in names: {@code fd} (one O_PATH fd per inode,
 * virtiofsd's "never"), {@code handle-preferred} ("prefer") and {@code handle-only} ("mandatory").
 */
@ConsumerType
public interface InodeIdentityStrategy {
    /** Service property that names the strategy. */
    String PROPERTY = "inode.identity";

    /** The strategy's name, equal to its {@value #PROPERTY} service property. */
    String name();

    /**
     * Binds the strategy to a shared directory whose root is open as {@code rootFd} (O_PATH). Throws
     * {@link IllegalStateException} with a one-line reason when the strategy cannot work here at
     * all (for example: file handles are mandatory but CAP_DAC_READ_SEARCH is missing).
     */
    IdentityProvider open(int rootFd) throws ErrnoException;
}
