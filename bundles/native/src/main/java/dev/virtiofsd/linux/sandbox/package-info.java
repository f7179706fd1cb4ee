/**
 * The daemon's sandbox, as virtiofsd's: the seccomp allowlist ({@link SyscallAllowlist}, installed
 * by {@link Seccomp}) and the mount-namespace and chroot confinement of the running process
 * ({@link Confinement}). The launcher script prepares what only a single-threaded process can do
 * (namespaces, capability bounding set, no_new_privs); these classes close the sandbox from inside
 * the JVM once every bundle is started.
 */
@Export
@Version("1.0.0")
package dev.virtiofsd.linux.sandbox;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
