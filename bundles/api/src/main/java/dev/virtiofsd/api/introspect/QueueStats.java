package dev.virtiofsd.api.introspect;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * What the queue threads of a transport have done: per virtqueue, the requests served, and how the
 * thread spent its idle time, watching the ring for the next request or asleep in poll(2). A watch
 * that catches a request saves one sleep and wake-up; a watch costs its time: {@link
 * QueueFigures} has both sides of that account. Each queue thread counts its own figures without
 * locks; a read is a snapshot of each counter, possibly a little behind the thread and not atomic
 * as a whole.
 *
 * @since 1.2
 */
@ProviderType
public interface QueueStats {
    /** One entry per virtqueue of the transport's device, in queue order; empty before a front end connected. */
    List<QueueFigures> queues();
}
