package dev.virtiofsd.launcher;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;

/**
 * Coverage of a sandboxed daemon (the build's integration tests): the JaCoCo agent writes its
 * execution data at exit by opening its file by path, which the sandbox refuses. With
 * {@code -Dvirtiofsd.coverage.file=FILE} (and the agent's {@code dumponexit=false}) the file is
 * opened at start, before the sandbox closes, and the agent's data is appended to it at exit, under
 * a file lock as the agent's own file output does. Without the agent on the class path: nothing.
 */
final class CoverageDump {
    static final String FILE_PROPERTY = "virtiofsd.coverage.file";
    private static final String AGENT_RUNTIME = "org.jacoco.agent.rt.RT";

    private CoverageDump() {}

    static void install() {
        String file = System.getProperty(FILE_PROPERTY);
        if (file == null || file.isEmpty()) {
            return;
        }
        Object agent;
        Method executionData;
        try {
            Method getAgent =
                    ClassLoader.getSystemClassLoader().loadClass(AGENT_RUNTIME).getMethod("getAgent");
            agent = getAgent.invoke(null);
            // through the agent's public interface (IAgent), not its internal class
            executionData = getAgent.getReturnType().getMethod("getExecutionData", boolean.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return; // no agent in this JVM
        }
        FileChannel channel;
        try {
            channel = FileChannel.open(
                    Paths.get(file), StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            System.err.println(CommandLine.PROGRAM + ": coverage file " + file + ": " + e.getMessage());
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> dump(agent, executionData, channel), "coverage-dump"));
    }

    private static void dump(Object agent, Method executionData, FileChannel channel) {
        try (FileChannel c = channel) {
            FileLock lock = c.lock();
            try {
                ByteBuffer b = ByteBuffer.wrap((byte[]) executionData.invoke(agent, false));
                while (b.hasRemaining()) {
                    c.write(b);
                }
            } finally {
                lock.release();
            }
        } catch (IOException | ReflectiveOperationException | RuntimeException e) {
            System.err.println(CommandLine.PROGRAM + ": coverage dump failed: " + e);
        }
    }
}
