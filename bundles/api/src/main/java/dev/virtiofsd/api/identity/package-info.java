/**
 * The inode-identity SPI: how the passthrough filesystem holds on to a host inode between
 * requests (an O_PATH fd, a file handle, or whatever a third-party strategy bundle chooses).
 * A strategy is an OSGi service with the property {@code inode.identity=NAME}; the daemon picks one
 * by that name ({@code --strategy NAME}). Keep this package small: third parties build against it.
 */
@Export
@Version("1.0.1")
package dev.virtiofsd.api.identity;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
