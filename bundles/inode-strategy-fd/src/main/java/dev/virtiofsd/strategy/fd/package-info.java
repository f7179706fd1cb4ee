/** The O_PATH-fd inode identity, for strategies that fall back to holding an fd. */
@Export
@Version("1.0.0")
package dev.virtiofsd.strategy.fd;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
