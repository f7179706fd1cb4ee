/**
 * The one home of native calls: thin, allocation-free wrappers over Linux system calls that throw
 * {@link dev.virtiofsd.api.ErrnoException} on failure, plus raw native memory access.
 */
@Export
@Version("2.0.0")
package dev.virtiofsd.linux;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
