package dev.virtiofsd.linux.sandbox;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Every system call the daemon may make once its sandbox is closed, in one place, grouped, with
 * the reason for each group. Anything else gets the {@code --seccomp} action (kill by default).
 *
 * <p>The list was measured, not guessed: the daemon ran the whole test suite and QEMU guests under
 * {@code --seccomp log}, and strace counted every call of a guest run (see the README, "Sandbox").
 * It covers the JVM (HotSpot, its GC and JIT threads, glibc), Felix, the passthrough filesystem and
 * both transports.
 *
 * <p>Inside the namespace or chroot sandbox, calls that resolve a path from the root or the working
 * directory fail with EACCES instead ({@code AT_FDCWD} as a dirfd, and the path-only calls of
 * x86_64): after start-up the daemon names files only relative to fds it holds, so nothing it does
 * can reach a path by name, not even in the shared directory. Its working directory is its own
 * /proc/self/fd, for the path-only xattr calls on "N".
 */
public final class SyscallAllowlist {
    static final int AT_FDCWD = -100;
    static final int EACCES = 13;
    static final int ENOSYS = 38;
    static final int AF_UNIX = 1;
    static final int CLONE_THREAD = 0x00010000;
    static final int CLONE_FS = 0x00000200;
    /** CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. */
    static final int CLONE_NEW_NAMESPACES =
            0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

    static final int SOL_SOCKET = 1;
    static final int SO_PEERCRED = 17;
    static final int PR_SET_NAME = 15;
    static final int PR_GET_NAME = 16;

    /** One argument check of a rule; arguments are compared on their low 32 bits unless said otherwise. */
    public static final class Condition {
        enum Op {
            EQUALS,
            ONE_OF,
            BITS_SET,
            BITS_CLEAR,
            /** All 64 bits zero (a NULL pointer). */
            ZERO,
            /** Equals this process's pid. */
            SELF_PID
        }

        final int arg;
        final Op op;
        final int[] values;

        Condition(int arg, Op op, int... values) {
            this.arg = arg;
            this.op = op;
            this.values = values;
        }

        @Override
        public String toString() {
            switch (op) {
                case EQUALS:
                    return "arg" + arg + " == " + values[0];
                case ONE_OF:
                    return "arg" + arg + " in " + Arrays.toString(values);
                case BITS_SET:
                    return "arg" + arg + " has 0x" + Integer.toHexString(values[0]);
                case BITS_CLEAR:
                    return "arg" + arg + " has none of 0x" + Integer.toHexString(values[0]);
                case ZERO:
                    return "arg" + arg + " == NULL";
                default:
                    return "arg" + arg + " == own pid";
            }
        }
    }

    /** How one system call is treated. */
    public static final class Rule {
        final String syscall;
        /** Once confined: AT_FDCWD in one of these arguments fails with EACCES. */
        final int[] dirfdArgs;
        /** Once confined: always EACCES (a call that takes a path but no dirfd). */
        final boolean pathOnly;
        /** Always fails with this errno (0: no). */
        final int errno;
        /** Refused once confined (only --sandbox none needs it). */
        final boolean unconfinedOnly;
        /** All must hold for the call to be allowed; otherwise the --seccomp action. */
        final List<Condition> conditions;

        Rule(
                String syscall,
                int[] dirfdArgs,
                boolean pathOnly,
                int errno,
                boolean unconfinedOnly,
                List<Condition> conditions) {
            this.syscall = syscall;
            this.dirfdArgs = dirfdArgs;
            this.pathOnly = pathOnly;
            this.errno = errno;
            this.unconfinedOnly = unconfinedOnly;
            this.conditions = conditions;
        }

        public String syscall() {
            return syscall;
        }

        /** Whether the kernel can cache the verdict by number alone (no argument is looked at). */
        boolean argumentFree(boolean confined) {
            return conditions.isEmpty() && (!confined || dirfdArgs.length == 0);
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder(syscall);
            if (errno != 0) {
                b.append(" -> errno ").append(errno);
            }
            if (pathOnly) {
                b.append(" (EACCES once confined)");
            }
            if (unconfinedOnly) {
                b.append(" (--sandbox none only)");
            }
            if (dirfdArgs.length > 0) {
                b.append(" (AT_FDCWD in arg").append(Arrays.toString(dirfdArgs)).append(": EACCES once confined)");
            }
            if (!conditions.isEmpty()) {
                b.append(" if ").append(conditions);
            }
            return b.toString();
        }
    }

    /** A group of calls with the reason the daemon needs them. */
    public static final class Group {
        final String title;
        final String reason;
        final List<Rule> rules = new ArrayList<>();

        Group(String title, String reason) {
            this.title = title;
            this.reason = reason;
        }

        public String title() {
            return title;
        }

        public String reason() {
            return reason;
        }

        public List<Rule> rules() {
            return Collections.unmodifiableList(rules);
        }

        Group allow(String... syscalls) {
            for (String s : syscalls) {
                rules.add(new Rule(s, new int[0], false, 0, false, List.of()));
            }
            return this;
        }

        /** Allowed; once confined, AT_FDCWD in argument {@code dirfdArgs} fails with EACCES. */
        Group allowAt(String syscall, int... dirfdArgs) {
            rules.add(new Rule(syscall, dirfdArgs, false, 0, false, List.of()));
            return this;
        }

        Group allowIf(String syscall, Condition... conditions) {
            rules.add(new Rule(syscall, new int[0], false, 0, false, List.of(conditions)));
            return this;
        }

        /** Path-only calls (no dirfd): allowed with --sandbox none, EACCES once confined. */
        Group pathOnly(String... syscalls) {
            for (String s : syscalls) {
                rules.add(new Rule(s, new int[0], true, 0, false, List.of()));
            }
            return this;
        }

        Group unconfinedOnly(String... syscalls) {
            for (String s : syscalls) {
                rules.add(new Rule(s, new int[0], false, 0, true, List.of()));
            }
            return this;
        }

        Group errno(String syscall, int errno) {
            rules.add(new Rule(syscall, new int[0], false, errno, false, List.of()));
            return this;
        }
    }

    private static Condition equals(int arg, int value) {
        return new Condition(arg, Condition.Op.EQUALS, value);
    }

    private static Condition oneOf(int arg, int... values) {
        return new Condition(arg, Condition.Op.ONE_OF, values);
    }

    private static Condition bitsSet(int arg, int mask) {
        return new Condition(arg, Condition.Op.BITS_SET, mask);
    }

    private static Condition bitsClear(int arg, int mask) {
        return new Condition(arg, Condition.Op.BITS_CLEAR, mask);
    }

    private static Condition isNull(int arg) {
        return new Condition(arg, Condition.Op.ZERO);
    }

    private static Condition selfPid(int arg) {
        return new Condition(arg, Condition.Op.SELF_PID);
    }

    private static final List<Group> GROUPS = new ArrayList<>();

    private static Group group(String title, String reason) {
        Group g = new Group(title, reason);
        GROUPS.add(g);
        return g;
    }

    static {
        group(
                        "file I/O",
                        "Requests read and write files (also straight into guest memory: pread/pwrite and the"
                                + " vectored forms); the vhost-user rings are kicked through eventfds; logging"
                                + " writes to stderr")
                .allow("read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev")
                .allow("preadv2", "pwritev2", "lseek", "close", "dup", "dup3", "fcntl", "eventfd2")
                .allow("poll", "ppoll");
        group(
                        "filesystem calls relative to an fd",
                        "The passthrough filesystem: every operation is an *at call on the O_PATH fd of an"
                                + " inode, or a call on an open file; file handles (name_to_handle_at,"
                                + " open_by_handle_at on a mount fd) for the handle strategies")
                .allowAt("openat", 0)
                .allowAt("newfstatat", 0)
                .allowAt("statx", 0)
                .allowAt("readlinkat", 0)
                .allowAt("mkdirat", 0)
                .allowAt("mknodat", 0)
                .allowAt("symlinkat", 1)
                .allowAt("linkat", 0, 2)
                .allowAt("unlinkat", 0)
                .allowAt("renameat", 0, 2)
                .allowAt("renameat2", 0, 2)
                .allowAt("fchownat", 0)
                .allowAt("fchmodat", 0)
                .allowAt("utimensat", 0)
                .allowAt("faccessat", 0)
                .allowAt("faccessat2", 0)
                .allowAt("name_to_handle_at", 0)
                .allow("open_by_handle_at", "fstat", "fstatfs", "getdents64", "fchown", "fchmod", "ftruncate")
                .allow("fallocate", "fsync", "fdatasync", "syncfs", "copy_file_range", "flock", "umask")
                .allow("fgetxattr", "fsetxattr", "flistxattr", "fremovexattr");
        group(
                        "extended attributes by path",
                        "xattrs of files that cannot be opened (symlinks, devices, O_PATH inodes) go through"
                                + " the path /proc/self/fd/N; inside the sandbox that is \"N\" in the working"
                                + " directory, which is the daemon's own /proc/self/fd (these calls have no dirfd)")
                .allow("getxattr", "setxattr", "listxattr", "removexattr");
        group(
                        "path calls without dirfd",
                        "x86_64 only. The JDK's file API uses them (the launcher's clean-up of its temporary"
                                + " files, the socket file); inside the sandbox they fail with EACCES, as does"
                                + " every AT_FDCWD call above")
                .pathOnly("open", "stat", "lstat", "access", "readlink", "unlink", "rmdir", "rename", "mkdir");
        group(
                        "fuse-dev transport without sandbox",
                        "--transport=fuse-dev unmounts its host mount when it stops; it needs --sandbox none"
                                + " (a private mount namespace would hide the mount), so inside the sandbox"
                                + " umount2 is refused")
                .unconfinedOnly("umount2");
        group(
                        "memory",
                        "The JVM maps, protects and returns its heap, metaspace, code cache and thread stacks;"
                                + " jffi allocates native buffers; vhost-user maps the guest's memory from the fds"
                                + " QEMU sends")
                .allow("brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "membarrier");
        group(
                        "threads",
                        "JVM threads (GC, JIT compiler, request threads) start, wait on futexes, sleep and exit;"
                                + " with --posix-acl a request thread unshares its fs_struct (its own umask)."
                                + " clone must create a thread (CLONE_THREAD) in this process's namespaces: no new"
                                + " process, no new namespace. clone3 passes its flags in memory a filter cannot"
                                + " read: it fails with ENOSYS, on which glibc falls back to clone")
                .allow("futex", "set_robust_list", "rseq", "gettid", "sched_yield", "sched_getaffinity")
                .allow("exit", "exit_group", "restart_syscall", "nanosleep", "clock_nanosleep")
                .allowIf("clone", bitsSet(0, CLONE_THREAD), bitsClear(0, CLONE_NEW_NAMESPACES))
                .errno("clone3", ENOSYS)
                // a request thread's own umask (POSIX ACL creations): unshare of its fs_struct only
                .allowIf("unshare", equals(0, CLONE_FS));
        group(
                        "signals",
                        "HotSpot handles SIGSEGV and SIGBUS (safepoints, implicit null checks) and the daemon"
                                + " SIGTERM/SIGINT; tgkill only to threads of this process")
                .allow("rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack")
                .allowIf("tgkill", selfPid(0));
        group(
                        "time and system information",
                        "Clocks (mostly through the vDSO), memory and CPU figures the JVM sizes itself by")
                .allow("clock_gettime", "clock_getres", "gettimeofday", "time", "sysinfo", "getrusage", "getcpu")
                .allow("uname");
        group(
                        "own identity",
                        "Reading this process's ids, capabilities and fd limit (the inode fd budget); prlimit64"
                                + " only on itself and without setting anything")
                .allow("getpid", "getuid", "geteuid", "getgid", "getegid", "capget", "getrlimit")
                .allowIf("prlimit64", equals(0, 0), isNull(2));
        group(
                        "request credentials",
                        "As root the passthrough performs each request as the guest's uid and gid: per-thread"
                                + " setresuid/setresgid (raw syscalls), back to root after the request")
                .allow("setresuid", "setresgid");
        group(
                        "vhost-user socket",
                        "One front end is accepted on the socket that was listening before the sandbox closed;"
                                + " vhost-user messages carry fds (SCM_RIGHTS). No socket() at all: no new socket"
                                + " of any family can be made")
                .allow("accept4", "recvmsg", "sendmsg", "shutdown");
        group(
                        "control socket",
                        "--control-socket (bound before the sandbox closed; accept4, read, write and shutdown as"
                                + " above): the peer's credentials (SO_PEERCRED) it checks; no other socket option")
                .allowIf("getsockopt", equals(1, SOL_SOCKET), equals(2, SO_PEERCRED));
        group("randomness", "SecureRandom, hash seeds").allow("getrandom");
        group("thread names", "prctl only to name a new thread (PR_SET_NAME) or read its name")
                .allowIf("prctl", oneOf(0, PR_SET_NAME, PR_GET_NAME));
    }

    private SyscallAllowlist() {}

    /** The groups, in the order the README shows them. */
    public static List<Group> groups() {
        return Collections.unmodifiableList(GROUPS);
    }

    /** Every rule of every group. */
    public static List<Rule> rules() {
        List<Rule> all = new ArrayList<>();
        for (Group g : GROUPS) {
            all.addAll(g.rules);
        }
        return all;
    }

    /** The list as text: one line per group and its calls (for --help-like output and docs). */
    public static String describe() {
        StringBuilder b = new StringBuilder();
        for (Group g : GROUPS) {
            b.append(g.title).append(": ").append(g.reason).append('\n');
            for (Rule r : g.rules) {
                b.append("    ").append(r).append('\n');
            }
        }
        return b.toString();
    }
}
