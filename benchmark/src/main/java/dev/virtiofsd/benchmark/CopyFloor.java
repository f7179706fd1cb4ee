package dev.virtiofsd.benchmark;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The memory-bandwidth floor of the 1 MiB rows on this machine: what one thread doing nothing but
 * the copy reaches. A daemon answering READ 1 MiB must pread(2) 1 MiB from the page cache into
 * shared guest memory; WRITE 1 MiB must pwrite(2) 1 MiB from it; neither daemon can go faster with
 * one queue thread. Measured here in the benchmark's own process, on the same files, into a
 * MAP_SHARED memfd mapping like guest memory; plus a plain 1 MiB memory-to-memory copy.
 */
final class CopyFloor {
    private CopyFloor() {}

    /** name -> per-run MiB/s: "memcpy", "pread", "pwrite". */
    static Map<String, List<Double>> measure(Path shared, int runs, double seconds) throws ErrnoException {
        Map<String, List<Double>> out = new LinkedHashMap<>();
        out.put("memcpy", new ArrayList<>());
        out.put("pread", new ArrayList<>());
        out.put("pwrite", new ArrayList<>());
        int mib = Load.MIB;
        long size = 2L * Load.FILE_MIB * mib;
        int memfd = Linux.memfdCreate("copy-floor", Linux.MFD_CLOEXEC);
        long mem = 0;
        int rfd = -1;
        int wfd = -1;
        try {
            Linux.ftruncate(memfd, size);
            mem = Linux.mmap(0, size, Linux.PROT_READ | Linux.PROT_WRITE, Linux.MAP_SHARED, memfd, 0);
            NativeMemory.fill(mem, size, (byte) 7); // touched, as a guest's buffers are
            rfd = Linux.open(shared.resolve(Load.READ_FILE).toString(), Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
            wfd = Linux.open(shared.resolve(Load.WRITE_FILE).toString(), Linux.O_RDWR | Linux.O_CLOEXEC, 0);
            long nanos = (long) (seconds * 1e9);
            final int rf = rfd;
            final long m = mem;
            for (int run = 0; run < runs + 1; run++) {
                // The first round warms the page cache and the JIT; not counted.
                double memcpy =
                        loop(nanos, i -> NativeMemory.copy(mem0(m, i), mem0(m, i) + (long) Load.FILE_MIB * mib, mib));
                double pread = loop(nanos, i -> Linux.pread(rf, mem0(m, i), mib, (i % Load.FILE_MIB) * mib));
                final int wf = wfd;
                double pwrite = loop(nanos, i -> Linux.pwrite(wf, mem0(m, i), mib, (i % Load.FILE_MIB) * mib));
                if (run > 0) {
                    out.get("memcpy").add(memcpy);
                    out.get("pread").add(pread);
                    out.get("pwrite").add(pwrite);
                }
            }
        } finally {
            if (mem != 0) {
                Linux.munmap(mem, size);
            }
            Linux.close(memfd);
            Linux.close(rfd);
            Linux.close(wfd);
        }
        return out;
    }

    private static long mem0(long mem, long i) {
        return mem + (i % Load.FILE_MIB) * (long) Load.MIB;
    }

    private interface Step {
        void run(long i) throws ErrnoException;
    }

    /** MiB per second of {@code step} (1 MiB each) for {@code nanos}. */
    private static double loop(long nanos, Step step) throws ErrnoException {
        long t0 = System.nanoTime();
        long end = t0 + nanos;
        long i = 0;
        long now;
        do {
            step.run(i++);
            now = System.nanoTime();
        } while (now < end);
        return i * 1e9 / (now - t0);
    }
}
