/**
 * The filesystem SPI the FUSE dispatcher calls: one method per FUSE operation, with decoded
 * primitive arguments and reusable per-worker output objects, so that the request path allocates
 * nothing. Names and byte strings are passed as native addresses of NUL-terminated bytes that stay
 * valid for the duration of the call.
 */
@Export
@Version("1.2.0")
package dev.virtiofsd.api.fs;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
