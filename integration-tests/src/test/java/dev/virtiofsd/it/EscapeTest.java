package dev.virtiofsd.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.fuse.internal.FuseServerImpl;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.passthrough.internal.PassthroughFileSystem;
import dev.virtiofsd.passthrough.internal.PassthroughOptions;
import dev.virtiofsd.strategy.fd.internal.FdStrategy;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The guest can never reach a path outside the shared directory.
 *
 * <p>Through a host /dev/fuse mount these properties cannot be observed: the kernel resolves ".."
 * of the mount root itself (to the mountpoint's parent, by VFS rules) and follows symlinks on the
 * client side (an absolute symlink resolves to the HOST path, since the client is the host). A
 * guest kernel behaves the same way, but a malicious guest can send any request. So these tests
 * talk to the real dispatcher and passthrough filesystem at the FUSE wire level: LOOKUP of ".." at
 * the root, names with '/', lookups under symlinks pointing outside. Files outside the share are
 * placed next to it, where an escape would find them.
 */
class EscapeTest {
    @TempDir
    Path base;

    private Path shared;
    private PassthroughFileSystem fs;
    private RawFuseClient client;

    @BeforeEach
    void setUp() throws Exception {
        shared = Files.createDirectory(base.resolve("shared"));
        Files.writeString(base.resolve("outside.txt"), "outside");
        Files.createDirectory(shared.resolve("sub"));
        Files.createSymbolicLink(shared.resolve("abs-out"), base);
        Files.createSymbolicLink(shared.resolve("rel-out"), Path.of(".."));
        Files.createSymbolicLink(shared.resolve("etc"), Path.of("/etc"));
        fs = new PassthroughFileSystem(PassthroughOptions.of(shared), new FdStrategy());
        client = new RawFuseClient(new FuseServerImpl(fs));
        assertEquals(0, client.init().error(), "INIT");
    }

    @AfterEach
    void tearDown() {
        if (client != null) {
            client.close();
        }
        if (fs != null) {
            fs.close();
        }
    }

    private long ino(Path p) throws Exception {
        return Sys.lstat(p).ino();
    }

    @Test
    void dotDotAtTheRootIsTheRoot() throws Exception {
        RawFuseClient.Reply r = client.lookup(1, "..");
        assertEquals(0, r.error(), "LOOKUP .. at root");
        assertEquals(ino(shared), r.entryIno(), "'..' of the root is the root, not " + base);
        assertNotEquals(ino(base), r.entryIno());
        RawFuseClient.Reply outside = client.lookup(r.nodeId(), "outside.txt");
        assertEquals(-2, outside.error(), "outside.txt is not reachable through '..' of the root");
    }

    @Test
    void dotDotOfASubdirectoryIsTheRoot() throws Exception {
        RawFuseClient.Reply sub = client.lookup(1, "sub");
        assertEquals(0, sub.error());
        RawFuseClient.Reply up = client.lookup(sub.nodeId(), "..");
        assertEquals(0, up.error());
        assertEquals(ino(shared), up.entryIno());
        RawFuseClient.Reply upUp = client.lookup(up.nodeId(), "..");
        assertEquals(ino(shared), upUp.entryIno(), "and '..' again stays there");
    }

    @Test
    void namesWithSlashesAreRejected() {
        for (String name : new String[] {"../outside.txt", "sub/../../outside.txt", "/etc/passwd", "sub/"}) {
            RawFuseClient.Reply r = client.lookup(1, name);
            assertTrue(r.error() < 0, "LOOKUP '" + name + "' must fail, got nodeid " + r.nodeId());
        }
    }

    @Test
    void symlinksAreNeverFollowedByTheDaemon() throws Exception {
        for (String link : new String[] {"abs-out", "rel-out", "etc"}) {
            RawFuseClient.Reply r = client.lookup(1, link);
            assertEquals(0, r.error(), link);
            assertEquals(Linux.S_IFLNK, r.entryMode() & Linux.S_IFMT, link + " is looked up as the link itself");
            assertEquals(ino(shared.resolve(link)), r.entryIno());
            for (String name : new String[] {"outside.txt", "passwd", "shared"}) {
                RawFuseClient.Reply under = client.lookup(r.nodeId(), name);
                assertTrue(under.error() < 0, "LOOKUP " + link + "/" + name + " through the symlink must fail");
            }
        }
    }
}
