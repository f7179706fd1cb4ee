/**
 * Read-only views of the daemon's state: inodes and the fds they hold, by identity kind and by
 * strategy, open files, per-opcode request counts and latencies, and what the queue threads of a
 * transport serve and how they wait.
 */
@Export
@Version("1.2.0")
package dev.virtiofsd.api.introspect;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
