package dev.virtiofsd.passthrough.internal;

import dev.virtiofsd.api.Errno;
import dev.virtiofsd.api.ErrnoException;

/**
 * One request's use of an inode, as a try-with-resources scope: it holds a counted reference on the
 * inode (so neither its identity nor its fds are closed under the request, whatever FORGET, DESTROY
 * or a new session do meanwhile) and, once asked for, an O_PATH fd on it. {@link #close()} gives
 * both back.
 *
 * <p>Instances belong to one thread and are reused in LIFO order (scopes nest), so a request
 * allocates nothing: take them from {@link Stack#use}, never keep one past its scope.
 */
final class InodeUse implements AutoCloseable {
    private final Stack owner;
    private Inode inode;
    private int pathFd = -1;

    private InodeUse(Stack owner) {
        this.owner = owner;
    }

    /**
     * This thread's use of node {@code nodeId}. As Rust virtiofsd, a node id the store does not know
     * (never handed out, or forgotten) is EBADF.
     */
    static InodeUse of(InodeStore store, long nodeId) throws ErrnoException {
        Inode i = store.acquire(nodeId);
        if (i == null) {
            throw ErrnoException.of(Errno.EBADF);
        }
        return ThreadScratch.get().uses.use(i);
    }

    /** This thread's use of an inode it reaches through something it holds (an open file). */
    static InodeUse of(Inode held) {
        held.retain();
        return ThreadScratch.get().uses.use(held);
    }

    Inode inode() {
        return inode;
    }

    /** An O_PATH fd on the inode for {@code *at} calls, valid until {@link #close()}. */
    int pathFd() throws ErrnoException {
        if (pathFd < 0) {
            pathFd = inode.identity.acquirePath();
        }
        return pathFd;
    }

    @Override
    public void close() {
        Inode i = inode;
        int fd = pathFd;
        inode = null;
        pathFd = -1;
        owner.pop(this);
        try {
            if (fd >= 0) {
                i.identity.releasePath(fd);
            }
        } finally {
            i.release();
        }
    }

    /** The uses of one thread. Depth 4 covers the deepest request (LINK and RENAME use two). */
    static final class Stack {
        private final InodeUse[] uses = new InodeUse[4];
        private int top;

        Stack() {
            for (int i = 0; i < uses.length; i++) {
                uses[i] = new InodeUse(this);
            }
        }

        /** Makes {@code retained}, on which the caller took a reference for this use, a scope. */
        InodeUse use(Inode retained) {
            if (top == uses.length) {
                retained.release();
                throw new IllegalStateException("inode uses nested deeper than " + uses.length);
            }
            InodeUse u = uses[top++];
            u.inode = retained;
            return u;
        }

        private void pop(InodeUse u) {
            if (top == 0 || uses[top - 1] != u) {
                throw new IllegalStateException("inode uses closed out of order");
            }
            top--;
        }

        /** Uses open on this thread, for tests. */
        int depth() {
            return top;
        }
    }
}
