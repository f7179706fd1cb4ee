/**
 * Read-only views of the daemon's state: inodes and the fds they hold, by identity kind and by
 * strategy, open files, and per-opcode request counts and latencies.
 */
@Export
@Version("1.1.0")
package dev.virtiofsd.api.introspect;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
