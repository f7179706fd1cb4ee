/**
 * What transports (vhost-user, /dev/fuse) consume and provide: the FUSE session service that turns
 * one request buffer into one reply buffer, and the daemon-control service through which a
 * transport asks the launcher to stop.
 */
@Export
@Version("1.2.0")
package dev.virtiofsd.api.transport;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
