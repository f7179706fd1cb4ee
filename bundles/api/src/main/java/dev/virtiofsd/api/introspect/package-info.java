/** Read-only views of the daemon's state: inodes and the fds they hold, by identity kind. */
@Export
@Version("1.0.0")
package dev.virtiofsd.api.introspect;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
