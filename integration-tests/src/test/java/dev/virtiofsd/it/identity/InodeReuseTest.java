package dev.virtiofsd.it.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.it.Sys;
import dev.virtiofsd.passthrough.internal.PassthroughOptions;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 5, "done when" 1: inode-number reuse on a loop-mounted ext4 shared directory, through the
 * real kernel (/dev/fuse). The client looks file A up and keeps its dentry (cache=always; A is never
 * opened), A is unlinked on the host behind the client's back, and a new file B is created on the
 * host until ext4 gives it A's inode number. Then a LOOKUP of B must answer a node id other than A's,
 * and reading B through the mount must return B's content.
 *
 * <p>ext4 with a journal hands out the lowest free inode number of the group at once (the
 * "recently deleted" delay applies only without a journal), so B normally takes A's number on the
 * first try.
 */
class InodeReuseTest {
    private static final String A_CONTENT = "A: the old file, unlinked on the host\n";
    private static final String B_CONTENT = "B: the new file that took A's inode number\n";
    private static final int MAX_ATTEMPTS = 20;

    private static Path base;
    private static Path ext4;
    private static boolean mounted;

    @BeforeAll
    static void mountExt4() throws Exception {
        base = Files.createTempDirectory("inode-reuse");
        Path image = base.resolve("ext4.img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(32L << 20);
        }
        Strategies.run("mkfs.ext4", "-q", "-F", "-N", "1024", image.toString());
        ext4 = Files.createDirectory(base.resolve("ext4"));
        Strategies.run("mount", "-o", "loop", image.toString(), ext4.toString());
        mounted = true;
    }

    @AfterAll
    static void unmountExt4() {
        if (mounted) {
            Strategies.umountQuietly(ext4); // -o loop set autoclear: the loop device goes with it
        }
        Strategies.deleteTree(base);
    }

    /** What the client saw. {@code readB}/{@code readA} hold the content or "<ERRNO>". */
    record Outcome(
            String strategy, long inoA, long inoB, int attempts, long nodeA, long nodeB, String readB, String readA) {
        boolean reused() {
            return inoA == inoB;
        }
    }

    private static Outcome scenario(String strategy) throws Exception {
        Path shared = Files.createDirectory(ext4.resolve(strategy));
        Path mnt = Files.createDirectory(base.resolve("mnt-" + strategy));
        Path hostA = shared.resolve("A");
        Path hostB = shared.resolve("B");
        Sys.writeString(hostA, A_CONTENT);
        PassthroughOptions options = PassthroughOptions.of(shared).cache("always");
        try (RecordingMount m = RecordingMount.mount(mnt, Strategies.byName(strategy), options)) {
            // The client looks A up and keeps it in its dentry cache; it never opens it.
            Sys.lstat(mnt.resolve("A"));
            Long nodeA = m.nodeIdOf("A");
            assertNotNull(nodeA, "the kernel sent a LOOKUP for A");

            long inoA = Sys.lstat(hostA).ino();
            Sys.unlink(hostA);
            int attempts = 0;
            long inoB;
            while (true) {
                attempts++;
                Sys.writeString(hostB, B_CONTENT);
                inoB = Sys.lstat(hostB).ino();
                if (inoB == inoA || attempts == MAX_ATTEMPTS) {
                    break;
                }
                // keep the number it took, so the next try gets another free one
                Sys.rename(hostB, shared.resolve("filler-" + attempts), 0);
            }

            Sys.lstat(mnt.resolve("B"));
            Long nodeB = m.nodeIdOf("B");
            assertNotNull(nodeB, "the kernel sent a LOOKUP for B");
            Outcome o = new Outcome(
                    strategy, inoA, inoB, attempts, nodeA, nodeB, read(mnt.resolve("B")), read(mnt.resolve("A")));
            System.out.println(o);
            return o;
        } finally {
            Files.deleteIfExists(mnt);
        }
    }

    private static String read(Path p) {
        try {
            return Sys.readString(p);
        } catch (ErrnoException e) {
            return "<" + Sys.errnoName(e) + ">";
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"handle-preferred", "handle-only"})
    void handleStrategiesTellTheNewFileFromTheOldOne(String strategy) throws Exception {
        Outcome o = scenario(strategy);
        assertTrue(
                o.reused(),
                "precondition: ext4 gave B A's inode number within " + MAX_ATTEMPTS
                        + " tries (A is held by handle only, so nothing pins it): " + o);
        assertNotEquals(o.nodeA(), o.nodeB(), "B must be a new node, not A's: " + o);
        assertEquals(B_CONTENT, o.readB(), "reading B returns B's content: " + o);
        assertNotEquals(B_CONTENT, o.readA(), "A's stale node must never serve B's data: " + o);
    }

    @Test
    void fdStrategyPinsTheOldInodeNumber() throws Exception {
        Outcome o = scenario("fd");
        // A's O_PATH fd keeps the unlinked inode alive, so ext4 cannot give its number to B: the
        // reuse cannot happen at all while the client holds A, which is what makes ids keys safe.
        assertTrue(!o.reused(), "the fd must pin A's inode number: " + o);
        assertEquals(MAX_ATTEMPTS, o.attempts());
        assertNotEquals(o.nodeA(), o.nodeB(), o.toString());
        assertEquals(B_CONTENT, o.readB(), o.toString());
        assertEquals(A_CONTENT, o.readA(), "A, unlinked but pinned, still reads as A: " + o);
    }

    /**
     * The seed's broken design as a strategy: identities that hold no fd (they reopen through a file
     * handle kept privately) and show the store no handle. The store honours {@code pinsInode()}: an
     * identity that neither has a handle nor pins its inode is never found by ids, so B is a new node
     * and reads as B. (Before the store read {@code pinsInode()}, this very scenario answered A's node
     * for B; InodeStoreTest has the unit-level check.)
     */
    @Test
    void idsOnlyIdentitiesAreNeverFoundByIdsAlone() throws Exception {
        Outcome o = scenario(IdsOnlyStrategy.NAME);
        assertTrue(o.reused(), "precondition: ext4 gave B A's inode number: " + o);
        assertNotEquals(o.nodeA(), o.nodeB(), "B must be a new node, not A's: " + o);
        assertEquals(B_CONTENT, o.readB(), "reading B returns B's content: " + o);
        assertNotEquals(B_CONTENT, o.readA(), "A's stale node must never serve B's data: " + o);
    }
}
