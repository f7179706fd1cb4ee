/** Operating a running daemon: choosing the inode-identity strategy and converting inodes. */
@Export
@Version("1.0.0")
package dev.virtiofsd.api.control;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
