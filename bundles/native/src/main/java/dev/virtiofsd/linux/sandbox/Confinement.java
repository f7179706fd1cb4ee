package dev.virtiofsd.linux.sandbox;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;
import dev.virtiofsd.linux.NativeMemory;
import dev.virtiofsd.linux.ProcFiles;
import dev.virtiofsd.linux.Statx;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Makes the shared directory the root of the running daemon, as virtiofsd's {@code --sandbox
 * namespace} (pivot_root in a private mount namespace, old root detached) and {@code --sandbox
 * chroot}. All threads of a process share one root and working directory, so this works in the
 * multi-threaded JVM; what does not (unshare of the mount namespace, capabilities of other
 * threads) the launcher script did before the JVM started.
 *
 * <p>Afterwards the process reaches files only through fds it holds: its root is the shared
 * directory, and its working directory is its own /proc/self/fd (where proc paths of
 * {@link Linux#procPath(int)} are resolved). In the namespace sandbox that directory is the root of
 * a bind mount of /proc/self/fd, whose ".." leads nowhere; in the chroot sandbox it is the host's
 * /proc/self/fd, as in virtiofsd's chroot mode.
 */
public final class Confinement {
    private Confinement() {}

    /**
     * Step one in a private mount namespace, before the shared directory is opened: no mount event
     * propagates to the host, and the shared directory becomes a mount of its own (a recursive bind
     * onto itself, submounts included), which pivot_root needs and whose root is the root of every
     * fd opened through it.
     */
    public static void prepareNamespace(String sharedDir) throws ErrnoException {
        Linux.mount(null, "/", null, Linux.MS_SLAVE | Linux.MS_REC, null);
        Linux.mount(sharedDir, sharedDir, null, Linux.MS_BIND | Linux.MS_REC, null);
    }

    /**
     * Step two: the shared directory becomes the root of the mount namespace (and of this process),
     * the old root with every host mount is detached, /proc is gone but for an fd of this
     * process's /proc/self/fd.
     */
    public static void enterNamespace(String sharedDir) throws ErrnoException {
        ProcFiles.bootId(); // read now: /proc goes away
        int procSelf = Linux.open("/proc/self", Linux.O_PATH | Linux.O_DIRECTORY, 0);
        // An fd of /proc/self/fd whose ".." stays put: the root of a bind mount that goes away with the old root.
        Linux.mount("/proc/self/fd", "/proc", null, Linux.MS_BIND, null);
        int procFd = Linux.open("/proc", Linux.O_PATH | Linux.O_DIRECTORY, 0);
        int oldRoot = -1;
        int newRoot = -1;
        try {
            oldRoot = Linux.open("/", Linux.O_PATH | Linux.O_DIRECTORY, 0);
            newRoot = Linux.open(sharedDir, Linux.O_PATH | Linux.O_DIRECTORY, 0);
            if (!sameFile(oldRoot, newRoot)) {
                // pivot_root(".", "."): the old root ends up stacked on the new one, then is detached.
                Linux.fchdir(newRoot);
                Linux.pivotRoot(".", ".");
                Linux.fchdir(oldRoot);
                Linux.mount(null, ".", null, Linux.MS_SLAVE | Linux.MS_REC, null);
                Linux.umount2(".", Linux.MNT_DETACH);
            }
            Linux.useProcFdDirectory(procFd);
            procFd = -1;
            openMountinfo(procSelf);
        } finally {
            Linux.close(oldRoot);
            Linux.close(newRoot);
            Linux.close(procFd);
            Linux.close(procSelf);
        }
    }

    /** Mount points relative to the new root: mountinfo takes the root of its opener at open time. */
    private static void openMountinfo(int procSelf) throws ErrnoException {
        ProcFiles.useMountinfo(Linux.openat(procSelf, "mountinfo", Linux.O_RDONLY, 0));
    }

    /** The chroot sandbox: no namespaces; the root is the shared directory for every thread. */
    public static void enterChroot(String sharedDir) throws ErrnoException {
        ProcFiles.bootId(); // read now: /proc is out of reach afterwards
        int procSelf = Linux.open("/proc/self", Linux.O_PATH | Linux.O_DIRECTORY, 0);
        int procFd = Linux.open("/proc/self/fd", Linux.O_PATH | Linux.O_DIRECTORY, 0);
        try {
            Linux.chroot(sharedDir);
            Linux.useProcFdDirectory(procFd);
            procFd = -1;
            openMountinfo(procSelf);
        } finally {
            Linux.close(procFd);
            Linux.close(procSelf);
        }
    }

    /** Closes fds inherited from the launcher script (its namespace fds). */
    public static void closeFds(int... fds) {
        for (int fd : fds) {
            Linux.close(fd);
        }
    }

    /**
     * The directory fds of this process from which ".." climbs out of its root, as "fd N (target)".
     * Each one would be a way out of the sandbox (openat(fd, "../..")); the launcher refuses to
     * serve while there is one. The /proc/self/fd working directory is not counted. Call after
     * entering the sandbox.
     */
    public static List<String> escapingDirectoryFds() throws ErrnoException {
        List<String> out = new ArrayList<>();
        int proc = Linux.procDirFd();
        String fdDir = proc == Linux.AT_FDCWD ? "/proc/self/fd" : ".";
        int list = Linux.openat(proc, fdDir, Linux.O_RDONLY | Linux.O_DIRECTORY, 0);
        int root = Linux.open("/", Linux.O_PATH | Linux.O_DIRECTORY, 0);
        long buf = NativeMemory.allocate(8192);
        try (Statx st = new Statx()) {
            long[] rootId = id(st.ofFd(root));
            List<Integer> fds = new ArrayList<>();
            for (int n; (n = Linux.getdents64(list, buf, 8192)) > 0; ) {
                for (int off = 0; off < n; ) {
                    int reclen = NativeMemory.getShort(buf + off + 16) & 0xffff;
                    String name = NativeMemory.getString(buf + off + 19);
                    if (!name.startsWith(".")) {
                        fds.add(Integer.parseInt(name));
                    }
                    off += reclen;
                }
            }
            for (int fd : fds) {
                if (fd == list || fd == root || fd == proc) {
                    continue;
                }
                try {
                    st.ofFd(fd);
                } catch (ErrnoException e) {
                    continue; // closed meanwhile
                }
                if ((st.mode() & Linux.S_IFMT) == Linux.S_IFDIR && !reachesRoot(fd, rootId, st)) {
                    out.add("fd " + fd + " (" + target(fd) + ")");
                }
            }
        } finally {
            NativeMemory.free(buf);
            Linux.close(root);
            Linux.close(list);
        }
        return out;
    }

    /** Whether climbing ".." from directory {@code fd} reaches the process root. */
    private static boolean reachesRoot(int fd, long[] rootId, Statx st) throws ErrnoException {
        int cur = Linux.openat(fd, ".", Linux.O_PATH | Linux.O_DIRECTORY, 0);
        try {
            for (int depth = 0; depth < 4096; depth++) {
                long[] id = id(st.ofFd(cur));
                if (Arrays.equals(id, rootId)) {
                    return true;
                }
                int parent = Linux.openat(cur, "..", Linux.O_PATH | Linux.O_DIRECTORY, 0);
                long[] pid = id(st.ofFd(parent));
                Linux.close(cur);
                cur = parent;
                if (Arrays.equals(pid, id)) {
                    return false; // the top of a tree that is not our root
                }
            }
            return false;
        } finally {
            Linux.close(cur);
        }
    }

    private static long[] id(Statx st) {
        return new long[] {st.dev(), st.ino(), st.mntId()};
    }

    private static boolean sameFile(int a, int b) throws ErrnoException {
        try (Statx sa = new Statx();
                Statx sb = new Statx()) {
            return Arrays.equals(id(sa.ofFd(a)), id(sb.ofFd(b)));
        }
    }

    private static String target(int fd) {
        long buf = NativeMemory.allocate(4096);
        try {
            int n = Linux.readlinkat(Linux.procDirFd(), Linux.procPath(fd), buf, 4096);
            return NativeMemory.getString(buf, n);
        } catch (ErrnoException e) {
            return "?";
        } finally {
            NativeMemory.free(buf);
        }
    }
}
