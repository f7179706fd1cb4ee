package dev.virtiofsd.it.framework;

import java.io.IOException;
import java.io.InputStream;
import org.osgi.framework.Bundle;

/**
 * Defines one test class itself (from the test class path) and resolves every other
 * dev.virtiofsd.* class through a bundle, so the test class runs against the bundle's classes.
 */
final class BundleDelegatingLoader extends ClassLoader {
    private final Bundle bundle;
    private final String ownClass;

    BundleDelegatingLoader(Bundle bundle, Class<?> ownClass) {
        super(BundleDelegatingLoader.class.getClassLoader());
        this.bundle = bundle;
        this.ownClass = ownClass.getName();
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        synchronized (getClassLoadingLock(name)) {
            Class<?> c = findLoadedClass(name);
            if (c == null) {
                if (name.equals(ownClass)) {
                    c = defineOwn(name);
                } else if (name.startsWith("dev.virtiofsd.")) {
                    c = bundle.loadClass(name);
                } else {
                    c = getParent().loadClass(name);
                }
            }
            if (resolve) {
                resolveClass(c);
            }
            return c;
        }
    }

    private Class<?> defineOwn(String name) throws ClassNotFoundException {
        try (InputStream in = getParent().getResourceAsStream(name.replace('.', '/') + ".class")) {
            if (in == null) {
                throw new ClassNotFoundException(name);
            }
            byte[] bytes = in.readAllBytes();
            return defineClass(name, bytes, 0, bytes.length);
        } catch (IOException e) {
            throw new ClassNotFoundException(name, e);
        }
    }
}
