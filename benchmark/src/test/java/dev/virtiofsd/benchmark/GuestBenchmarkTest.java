package dev.virtiofsd.benchmark;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When the guest part starts QEMU: once the daemon's socket listens, in whichever namespace. */
class GuestBenchmarkTest {

    @TempDir
    Path tmp;

    @Test
    void aSocketCountsOnceItListensSeenFromTheDaemonsProcess() throws Exception {
        Path socket = tmp.resolve("vhost.sock");
        long self = ProcessHandle.current().pid();
        assertFalse(GuestBenchmark.listening(socket, self), "no file yet");
        try (ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(socket));
            // bind() then listen() happen in one call here; the pid's table and the host's both show it
            assertTrue(GuestBenchmark.listening(socket, self));
            assertTrue(GuestBenchmark.listening(socket, Long.MAX_VALUE), "a gone pid is skipped");
        }
        assertFalse(GuestBenchmark.listening(tmp.resolve("other.sock"), self));
    }

    @Test
    void aSocketListeningInAnotherNetworkNamespaceShowsThroughItsProcess() throws Exception {
        // As ours sandboxed: the process is in a new network namespace before it binds.
        Path socket = tmp.resolve("ns.sock");
        Path program = tmp.resolve("Listen.java");
        Files.writeString(
                program,
                "public class Listen { public static void main(String[] a) throws Exception {"
                        + " var ch = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX);"
                        + " ch.bind(java.net.UnixDomainSocketAddress.of(a[0])); Thread.sleep(60_000); } }");
        Process p = new ProcessBuilder(List.of(
                        "unshare",
                        "--net",
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        program.toString(),
                        socket.toString()))
                .redirectErrorStream(true)
                .start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(socket)) {
                assertTrue(p.isAlive(), () -> "unshare --net java failed: " + output(p));
                assertTrue(System.nanoTime() < deadline, "no socket within 60 s");
                Thread.sleep(20);
            }
            Thread.sleep(200); // bind() and listen() are one call, but the file comes first
            assertFalse(GuestBenchmark.listening(socket), "seen without its pid: not in another namespace?");
            assertTrue(GuestBenchmark.listening(socket, p.pid()));
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static String output(Process p) {
        try {
            return new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }
}
