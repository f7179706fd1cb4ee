package dev.virtiofsd.api.fs;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A byte stream laid over one or more native memory segments (a scatter-gather list), such as the
 * descriptors of a virtqueue request in mapped guest memory or a /dev/fuse buffer. READ and WRITE
 * payloads move between a file and these segments with {@code preadv}/{@code pwritev}, never
 * through the Java heap.
 */
@ProviderType
public interface SegmentList {
    /** Number of segments. */
    int count();

    /** Native address of segment {@code i}. */
    long address(int i);

    /** Length in bytes of segment {@code i}. */
    int length(int i);

    /** Sum of all lengths. */
    default long totalLength() {
        long t = 0;
        for (int i = 0, n = count(); i < n; i++) {
            t += length(i);
        }
        return t;
    }
}
