/**
 * The configuration contract of the distribution's components: for each configuration PID the
 * launcher writes into ConfigAdmin (and a deployment profile may set), its PID, its keys and the
 * defaults the command line shares with the component.
 *
 * <p>Each bundle describes its configuration as an OSGi metatype definition (an
 * {@code @ObjectClassDefinition} component property type, generated into the bundle's {@code
 * OSGI-INF/metatype}); the attribute ids there are the keys named here, and their defaults are
 * these constants. The launcher builds its configurations from the same constants. Only
 * compile-time constants live here: the launcher uses them without having this bundle on its class
 * path (javac copies a constant's value into the class that uses it), and a test of the launcher
 * checks every key it writes against the metatype of the built bundles.
 */
@Export
@Version("1.0.0")
package dev.virtiofsd.api.config;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
