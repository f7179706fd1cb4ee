package dev.virtiofsd.passthrough.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Configuration of PID {@code dev.virtiofsd.passthrough}, written by the launcher. */
@ObjectClassDefinition(name = "virtiofsd passthrough filesystem")
public @interface PassthroughConfig {
    @AttributeDefinition(name = "shared.dir", description = "Host directory to share")
    String shared_dir();

    @AttributeDefinition(description = "auto | always | never | metadata")
    String cache() default "auto";

    boolean xattr() default false;

    boolean readonly() default false;

    @AttributeDefinition(name = "announce.submounts")
    boolean announce_submounts() default false;
}
