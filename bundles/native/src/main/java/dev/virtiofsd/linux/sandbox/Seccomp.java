package dev.virtiofsd.linux.sandbox;

import dev.virtiofsd.api.ErrnoException;
import dev.virtiofsd.linux.Linux;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Compiles {@link SyscallAllowlist} into a seccomp BPF program for this architecture and installs
 * it on every thread of the process (SECCOMP_FILTER_FLAG_TSYNC), as virtiofsd's
 * {@code --seccomp kill|log|trap}. Threads started later inherit it.
 */
public final class Seccomp {
    /** What happens to a call the list does not allow. */
    public enum Action {
        /** SECCOMP_RET_KILL_PROCESS: the daemon dies with SIGSYS. */
        KILL(0x80000000),
        /** SECCOMP_RET_LOG: allowed, and the kernel logs it (audit, dmesg): to measure what is missing. */
        LOG(0x7ffc0000),
        /** SECCOMP_RET_TRAP: SIGSYS to the calling thread (the JVM does not handle it: the daemon dies with a core). */
        TRAP(0x00030000);

        final int ret;

        Action(int ret) {
            this.ret = ret;
        }

        /** kill, log or trap (the --seccomp values other than none). */
        public static Action parse(String name) {
            return valueOf(name.toUpperCase(Locale.ROOT));
        }
    }

    static final int RET_ALLOW = 0x7fff0000;
    static final int RET_ERRNO = 0x00050000;
    static final int RET_KILL_PROCESS = 0x80000000;
    static final int PR_SET_NO_NEW_PRIVS = 38;
    static final int FLAG_TSYNC = 1;
    /** x86_64 system call numbers with this bit are the x32 ABI: never allowed. */
    static final int X32_SYSCALL_BIT = 0x40000000;

    /**
     * Calls whose verdict depends on arguments run the BPF program on every call (the kernel
     * caches the others by number): the busiest of them come first.
     */
    private static final List<String> HOT =
            List.of("statx", "openat", "newfstatat", "readlinkat", "unlinkat", "mkdirat", "fchownat", "utimensat");

    private Seccomp() {}

    /**
     * Sets no_new_privs and installs the filter on all threads.
     *
     * @param confined whether the daemon is in its namespace or chroot sandbox (then AT_FDCWD and
     *     path-only calls fail with EACCES, see {@link SyscallAllowlist})
     */
    public static void install(Action action, boolean confined) throws ErrnoException {
        install(compile(action, confined));
    }

    /** The filter for this process and architecture (compiled ahead, installed later). */
    public static byte[] compile(Action action, boolean confined) {
        return compile(Arch.current(), action, confined, Linux.getpid());
    }

    /** Sets no_new_privs and installs a program of {@link #compile} on all threads. */
    public static void install(byte[] program) throws ErrnoException {
        Linux.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        long r = Linux.seccompFilter(FLAG_TSYNC, program);
        if (r != 0) {
            throw ErrnoException.of(
                    dev.virtiofsd.api.Errno.EAGAIN, "seccomp: thread " + r + " could not take the filter");
        }
    }

    /**
     * The filter as {@code struct sock_filter[]}: check the architecture, then one block per call
     * that returns its verdict; everything else gets {@code action}.
     */
    public static byte[] compile(Arch arch, Action action, boolean confined, int pid) {
        BpfProgram p = new BpfProgram();
        p.load(BpfProgram.ARCH).jumpIfEqual(arch.auditArch, "arch-ok", null).ret(action.ret);
        p.label("arch-ok").load(BpfProgram.NR);
        if (arch == Arch.X86_64) {
            p.jumpIfAtLeast(X32_SYSCALL_BIT, null, "native-abi").ret(action.ret);
            p.label("native-abi");
        }
        List<SyscallAllowlist.Rule> ordered = ordered(confined);
        int i = 0;
        for (SyscallAllowlist.Rule r : ordered) {
            int nr = SyscallTable.number(arch, r.syscall);
            if (nr < 0) {
                continue;
            }
            String next = "rule" + (i + 1);
            p.label("rule" + i);
            p.jumpIfEqual(nr, null, next);
            emit(p, r, i, action, confined, pid);
            i++;
        }
        p.label("rule" + i).ret(action.ret);
        return p.assemble();
    }

    /** Argument-checked calls first (busiest first), then the rest in list order. */
    private static List<SyscallAllowlist.Rule> ordered(boolean confined) {
        List<SyscallAllowlist.Rule> checked = new ArrayList<>();
        List<SyscallAllowlist.Rule> free = new ArrayList<>();
        for (SyscallAllowlist.Rule r : SyscallAllowlist.rules()) {
            (r.argumentFree(confined) ? free : checked).add(r);
        }
        checked.sort((a, b) -> Integer.compare(hotness(a.syscall), hotness(b.syscall)));
        checked.addAll(free);
        return checked;
    }

    private static int hotness(String syscall) {
        int i = HOT.indexOf(syscall);
        return i < 0 ? HOT.size() : i;
    }

    /** The body of one call's block; the syscall number matched. Every path ends in a return. */
    private static void emit(BpfProgram p, SyscallAllowlist.Rule r, int i, Action action, boolean confined, int pid) {
        if (r.errno != 0) {
            p.ret(RET_ERRNO | r.errno);
            return;
        }
        if (r.pathOnly) {
            p.ret(confined ? RET_ERRNO | SyscallAllowlist.EACCES : RET_ALLOW);
            return;
        }
        if (r.unconfinedOnly) {
            p.ret(confined ? action.ret : RET_ALLOW);
            return;
        }
        String eacces = "eacces" + i;
        String deny = "deny" + i;
        boolean usesEacces = false;
        boolean usesDeny = false;
        if (confined) {
            for (int arg : r.dirfdArgs) {
                p.load(BpfProgram.argLow(arg)).jumpIfEqual(SyscallAllowlist.AT_FDCWD, eacces, null);
                usesEacces = true;
            }
        }
        for (SyscallAllowlist.Condition c : r.conditions) {
            usesDeny = true;
            switch (c.op) {
                case EQUALS:
                    p.load(BpfProgram.argLow(c.arg)).jumpIfEqual(c.values[0], null, deny);
                    break;
                case SELF_PID:
                    p.load(BpfProgram.argLow(c.arg)).jumpIfEqual(pid, null, deny);
                    break;
                case ONE_OF:
                    String ok = "ok" + i + "_" + c.arg;
                    p.load(BpfProgram.argLow(c.arg));
                    for (int v : c.values) {
                        p.jumpIfEqual(v, ok, null);
                    }
                    p.jump(deny);
                    p.label(ok);
                    break;
                case BITS_SET:
                    for (int bit = 0; bit < 32; bit++) {
                        int m = 1 << bit;
                        if ((c.values[0] & m) != 0) {
                            p.load(BpfProgram.argLow(c.arg)).jumpIfAnySet(m, null, deny);
                        }
                    }
                    break;
                case BITS_CLEAR:
                    p.load(BpfProgram.argLow(c.arg)).jumpIfAnySet(c.values[0], deny, null);
                    break;
                case ZERO:
                    p.load(BpfProgram.argLow(c.arg)).jumpIfEqual(0, null, deny);
                    p.load(BpfProgram.argHigh(c.arg)).jumpIfEqual(0, null, deny);
                    break;
                default:
                    throw new IllegalStateException(c.op.toString());
            }
        }
        p.ret(RET_ALLOW);
        if (usesEacces) {
            p.label(eacces).ret(RET_ERRNO | SyscallAllowlist.EACCES);
        }
        if (usesDeny) {
            p.label(deny).ret(action.ret);
        }
    }
}
