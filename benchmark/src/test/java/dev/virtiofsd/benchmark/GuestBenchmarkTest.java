package dev.virtiofsd.benchmark;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
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
}
