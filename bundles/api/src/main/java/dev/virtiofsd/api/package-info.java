/** Errors shared by every bundle: one errno-carrying exception type and the errno numbers. */
@Export
@Version("1.0.0")
package dev.virtiofsd.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
