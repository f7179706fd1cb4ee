package dev.virtiofsd.passthrough.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** READDIR/READDIRPLUS paging over a real directory, with the lookups replaced by a recording fake. */
class DirectoryListingTest {
    @TempDir
    Path dir;

    private final List<OpenFile.Dir> opened = new ArrayList<>();
    /** Names the fake lookup was asked for, in order. */
    private final List<String> looked = new ArrayList<>();
    /** Name the fake lookup answers with this errno (0: none). */
    private String failing;

    private int failErrno;

    private final DirectoryListing listing = new DirectoryListing((parent, pfd, name, out) -> {
        String n = NativeMemory.getString(name, 255).split("\0", 2)[0];
        looked.add(n);
        if (n.equals(failing)) {
            throw ErrnoException.of(failErrno);
        }
        out.nodeId = 1000L + looked.size();
        out.attr.ino = 7;
    });

    @AfterEach
    void closeDirs() {
        for (OpenFile.Dir d : opened) {
            d.reader.close();
            Linux.close(d.fd);
        }
    }

    private OpenFile.Dir open() throws ErrnoException {
        // no inode: the listing only hands it to the lookup, and the test never frees the handle
        OpenFile.Dir d = new OpenFile.Dir(null, Linux.open(dir.toString(), Linux.O_RDONLY | Linux.O_DIRECTORY, 0));
        opened.add(d);
        return d;
    }

    /** Files with long names: more records than one 32 KiB getdents64 buffer holds. */
    private Set<String> manyFiles(int n) throws Exception {
        Set<String> names = new TreeSet<>();
        for (int i = 0; i < n; i++) {
            String name = String.format("%03d-", i) + "x".repeat(200);
            Files.createFile(dir.resolve(name));
            names.add(name);
        }
        return names;
    }

    @Test
    void listsEveryEntryOnceAcrossBufferRefillsAndReplies() throws Exception {
        Set<String> want = manyFiles(400); // ~90 KiB of records
        want.add(".");
        want.add("..");
        OpenFile.Dir d = open();
        List<String> seen = new ArrayList<>();
        long offset = 0;
        int replies = 0;
        while (true) {
            PassthroughFileSystemTest.Sink s = new PassthroughFileSystemTest.Sink(false, 37);
            listing.fill(d, -1, offset, s);
            if (s.names.isEmpty()) {
                break;
            }
            seen.addAll(s.names);
            offset = s.offsets.get(s.offsets.size() - 1);
            replies++;
        }
        assertEquals(want.size(), seen.size(), "no entry twice, none lost");
        assertEquals(want, new TreeSet<>(seen));
        assertTrue(replies > 10);
        assertTrue(looked.isEmpty(), "READDIR looks nothing up");
    }

    @Test
    void anEntryThatDoesNotFitComesFirstInTheNextReply() throws Exception {
        manyFiles(5);
        OpenFile.Dir d = open();
        PassthroughFileSystemTest.Sink first = new PassthroughFileSystemTest.Sink(false, 3);
        listing.fill(d, -1, 0, first);
        PassthroughFileSystemTest.Sink rest = new PassthroughFileSystemTest.Sink(false, 100);
        listing.fill(d, -1, first.offsets.get(2), rest);
        assertEquals(7, first.names.size() + rest.names.size());
        Set<String> all = new HashSet<>(first.names);
        all.addAll(rest.names);
        assertEquals(7, all.size());
    }

    @Test
    void anOffsetOtherThanTheLastOneSeeksThere() throws Exception {
        manyFiles(10);
        OpenFile.Dir d = open();
        PassthroughFileSystemTest.Sink all = new PassthroughFileSystemTest.Sink(false, 100);
        listing.fill(d, -1, 0, all);
        assertEquals(12, all.names.size());
        // back to the start (rewinddir) and to the middle (telldir/seekdir)
        PassthroughFileSystemTest.Sink again = new PassthroughFileSystemTest.Sink(false, 100);
        listing.fill(d, -1, 0, again);
        assertEquals(all.names, again.names);
        PassthroughFileSystemTest.Sink tail = new PassthroughFileSystemTest.Sink(false, 100);
        listing.fill(d, -1, all.offsets.get(4), tail);
        assertEquals(all.names.subList(5, 12), tail.names);
    }

    @Test
    void plusLooksUpEveryEntryButDotAndDotDot() throws Exception {
        manyFiles(4);
        OpenFile.Dir d = open();
        PassthroughFileSystemTest.Sink s = new PassthroughFileSystemTest.Sink(true, 100);
        listing.fill(d, 42, 0, s);
        assertEquals(6, s.names.size());
        assertEquals(4, looked.size(), "no lookup (and so no lookup count) for . and ..");
        for (int i = 0; i < s.names.size(); i++) {
            String n = s.names.get(i);
            if (n.equals(".") || n.equals("..")) {
                assertEquals(0, s.nodes.get(i), n + " carries no node");
                assertEquals(Linux.S_IFDIR, s.modes.get(i), n + " carries its d_type");
                assertTrue(s.inos.get(i) != 7, n + " carries its d_ino");
            } else {
                assertTrue(s.nodes.get(i) > 1000);
                assertEquals(7, s.inos.get(i), "the looked-up inode number");
            }
        }
    }

    @Test
    void plusSkipsAnEntryGoneSinceGetdents() throws Exception {
        Set<String> names = manyFiles(3);
        failing = names.iterator().next();
        failErrno = Errno.ENOENT;
        OpenFile.Dir d = open();
        PassthroughFileSystemTest.Sink s = new PassthroughFileSystemTest.Sink(true, 100);
        listing.fill(d, 42, 0, s);
        assertEquals(4, s.names.size());
        assertFalse(s.names.contains(failing));
        PassthroughFileSystemTest.Sink after = new PassthroughFileSystemTest.Sink(true, 100);
        listing.fill(d, 42, d.nextOffset, after);
        assertTrue(after.names.isEmpty(), "the skipped entry is consumed");
    }

    @Test
    void plusErrorOnTheFirstEntryFailsTheReplyAndOnALaterOneEndsIt() throws Exception {
        manyFiles(3);
        OpenFile.Dir d = open();
        PassthroughFileSystemTest.Sink probe = new PassthroughFileSystemTest.Sink(true, 100);
        listing.fill(d, 42, 0, probe);
        List<String> order = probe.names;
        String second = order.stream()
                .filter(n -> !n.equals(".") && !n.equals(".."))
                .skip(1)
                .findFirst()
                .orElseThrow();
        failing = second;
        failErrno = Errno.EACCES;
        PassthroughFileSystemTest.Sink s = new PassthroughFileSystemTest.Sink(true, 100);
        listing.fill(d, 42, 0, s);
        assertEquals(order.subList(0, order.indexOf(second)), s.names, "stops before the failing entry");
        long at = s.offsets.get(s.offsets.size() - 1);
        ErrnoException e = assertThrows(
                ErrnoException.class, () -> listing.fill(d, 42, at, new PassthroughFileSystemTest.Sink(true, 100)));
        assertEquals(Errno.EACCES, e.errno(), "first in its reply: the error is the answer");
        failing = null;
        PassthroughFileSystemTest.Sink rest = new PassthroughFileSystemTest.Sink(true, 100);
        listing.fill(d, 42, at, rest);
        assertEquals(order.subList(order.indexOf(second), order.size()), rest.names, "and it is not lost");
    }

    @Test
    void aFreedHandleIsEbadf() throws Exception {
        OpenFile.Dir d = open();
        synchronized (d) {
            d.freed = true;
        }
        ErrnoException e = assertThrows(
                ErrnoException.class, () -> listing.fill(d, -1, 0, new PassthroughFileSystemTest.Sink(false, 10)));
        assertEquals(Errno.EBADF, e.errno());
    }
}
