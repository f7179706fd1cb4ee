package dev.virtiofsd.strategy.handle.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The per-thread {@code struct file_handle} block: a handle written into it must be exactly that
 * handle, whatever the thread's previous handle left there (each test runs on a fresh thread, so the
 * block's history is the test's own).
 */
class HandleScratchTest {
    /** Runs {@code body} on a new thread (a fresh scratch block), rethrowing what it threw. */
    private static void onFreshThread(ThrowingRunnable body) throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.start();
        t.join();
        if (failure.get() instanceof Error) {
            throw (Error) failure.get();
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    private static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (seed + 7 * i);
        }
        return b;
    }

    @Test
    void writeLaysOutSizeTypeAndBytesOverWhateverWasThere() throws Exception {
        onFreshThread(() -> {
            HandleScratch s = HandleScratch.get();
            long fh = s.fileHandle(Linux.MAX_HANDLE_SZ);
            // a longer handle of another type first, then a shorter one over it
            NativeMemory.fill(fh, HandleScratch.HEADER + Linux.MAX_HANDLE_SZ, (byte) 0xa5);
            HandleScratch.write(fh, 0xf8, pattern(40, 3));
            assertEquals(40, HandleScratch.handleBytes(fh));
            assertEquals(0xf8, HandleScratch.handleType(fh));
            assertArrayEquals(pattern(40, 3), HandleScratch.bytes(fh));
            HandleScratch.write(fh, 1, pattern(8, 100));
            assertEquals(8, HandleScratch.handleBytes(fh), "handle_bytes is the new handle's");
            assertEquals(1, HandleScratch.handleType(fh), "handle_type is the new handle's");
            assertArrayEquals(pattern(8, 100), HandleScratch.bytes(fh));
            // the little-endian ints the kernel reads, at their C offsets
            assertEquals(8, NativeMemory.getInt(fh));
            assertEquals(1, NativeMemory.getInt(fh + 4));
            assertEquals(pattern(8, 100)[0], NativeMemory.getByte(fh + 8));
        });
    }

    @Test
    void theMountIdSlotAndTheFileHandleDoNotOverlap() throws Exception {
        onFreshThread(() -> {
            HandleScratch s = HandleScratch.get();
            long fh = s.fileHandle(Linux.MAX_HANDLE_SZ);
            long mnt = s.mountIdOut();
            assertTrue(
                    mnt + 4 <= fh || fh + HandleScratch.HEADER + Linux.MAX_HANDLE_SZ <= mnt,
                    "name_to_handle_at writes both: the mount id must not land in the handle");
            NativeMemory.putInt(mnt, 0x1234_5678);
            HandleScratch.write(fh, 0xff, pattern(Linux.MAX_HANDLE_SZ, 9));
            assertEquals(0x1234_5678, NativeMemory.getInt(mnt));
            assertArrayEquals(pattern(Linux.MAX_HANDLE_SZ, 9), HandleScratch.bytes(fh));
        });
    }

    @Test
    void aLargerHandleGrowsTheBlockAndKeepsTheLayout() throws Exception {
        onFreshThread(() -> {
            HandleScratch s = HandleScratch.get();
            long small = s.fileHandle(16);
            assertEquals(small, s.fileHandle(Linux.MAX_HANDLE_SZ), "room for MAX_HANDLE_SZ from the start");
            int big = 4 * Linux.MAX_HANDLE_SZ;
            long fh = s.fileHandle(big);
            HandleScratch.write(fh, 0x4d, pattern(big, 1));
            long mnt = s.mountIdOut();
            NativeMemory.putInt(mnt, 42);
            assertTrue(mnt + 4 <= fh, "the mount id still comes first");
            assertEquals(big, HandleScratch.handleBytes(fh));
            assertEquals(0x4d, HandleScratch.handleType(fh));
            assertArrayEquals(pattern(big, 1), HandleScratch.bytes(fh));
            assertEquals(42, NativeMemory.getInt(mnt));
            assertEquals(fh, s.fileHandle(big), "no second growth for the same size");
            assertEquals(fh, s.fileHandle(8), "nor for a smaller one");
        });
    }
}
