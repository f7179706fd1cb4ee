package dev.virtiofsd.linux.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The compiled filter, run by a classic-BPF interpreter that follows the kernel's rules (forward
 * jumps only, every path ends in a return), on the seccomp_data the kernel would pass: the verdict
 * of every allowlisted call, and of the calls the sandbox must refuse.
 */
class SeccompProgramTest {
    static final int PID = 4242;
    static final int KILL = Seccomp.RET_KILL_PROCESS;
    static final int ALLOW = Seccomp.RET_ALLOW;
    static final int EACCES = Seccomp.RET_ERRNO | 13;
    static final int ENOSYS = Seccomp.RET_ERRNO | 38;
    static final long AT_FDCWD = -100L;

    /** Runs {@code program} on seccomp_data {nr, arch, ip=0, args}. */
    static int run(byte[] program, int arch, int nr, long... args) {
        byte[] data = new byte[64];
        putInt(data, 0, nr);
        putInt(data, 4, arch);
        for (int i = 0; i < args.length; i++) {
            putInt(data, 16 + 8 * i, (int) args[i]);
            putInt(data, 20 + 8 * i, (int) (args[i] >>> 32));
        }
        int a = 0;
        int pc = 0;
        int n = program.length / 8;
        for (int steps = 0; steps <= n; steps++) {
            assertTrue(pc < n, "fell off the end of the program");
            int o = pc * 8;
            int code = (program[o] & 0xff) | (program[o + 1] & 0xff) << 8;
            int jt = program[o + 2] & 0xff;
            int jf = program[o + 3] & 0xff;
            int k = getInt(program, o + 4);
            pc++;
            switch (code) {
                case BpfProgram.LD_W_ABS:
                    assertTrue(k >= 0 && k + 4 <= 64 && k % 4 == 0, "load offset " + k);
                    a = getInt(data, k);
                    break;
                case BpfProgram.JMP_JEQ_K:
                    pc += a == k ? jt : jf;
                    break;
                case BpfProgram.JMP_JGE_K:
                    pc += Integer.compareUnsigned(a, k) >= 0 ? jt : jf;
                    break;
                case BpfProgram.JMP_JSET_K:
                    pc += (a & k) != 0 ? jt : jf;
                    break;
                case BpfProgram.JMP_JA:
                    pc += k;
                    break;
                case BpfProgram.RET_K:
                    return k;
                default:
                    throw new AssertionError("unexpected instruction " + code);
            }
        }
        throw new AssertionError("no return");
    }

    private static void putInt(byte[] b, int o, int v) {
        b[o] = (byte) v;
        b[o + 1] = (byte) (v >>> 8);
        b[o + 2] = (byte) (v >>> 16);
        b[o + 3] = (byte) (v >>> 24);
    }

    private static int getInt(byte[] b, int o) {
        return (b[o] & 0xff) | (b[o + 1] & 0xff) << 8 | (b[o + 2] & 0xff) << 16 | (b[o + 3] & 0xff) << 24;
    }

    static int verdict(Arch arch, boolean confined, String syscall, long... args) {
        byte[] p = Seccomp.compile(arch, Seccomp.Action.KILL, confined, PID);
        return run(p, arch.auditArch, SyscallTable.number(arch, syscall), args);
    }

    @ParameterizedTest
    @EnumSource(Arch.class)
    void everyPlainlyAllowedCallIsAllowedWithAnyArguments(Arch arch) {
        for (SyscallAllowlist.Rule r : SyscallAllowlist.rules()) {
            if (SyscallTable.number(arch, r.syscall) < 0
                    || !r.conditions.isEmpty()
                    || r.errno != 0
                    || r.pathOnly
                    || r.unconfinedOnly) {
                continue;
            }
            assertEquals(ALLOW, verdict(arch, true, r.syscall, 3, 0, 0, 0, 0, 0), r.syscall);
            assertEquals(ALLOW, verdict(arch, false, r.syscall, AT_FDCWD, AT_FDCWD, AT_FDCWD), r.syscall);
        }
    }

    @ParameterizedTest
    @EnumSource(Arch.class)
    void execNewSocketsAndNamespaceCallsAreKilled(Arch arch) {
        for (String s : new String[] {
            "execve",
            "execveat",
            "socket",
            "socketpair",
            "ptrace",
            "mount",
            "umount2",
            "pivot_root",
            "chroot",
            "unshare",
            "setns",
            "seccomp",
            "kill",
            "tkill",
            "fchdir",
            "chdir",
            "getsockopt"
        }) {
            assertEquals(KILL, verdict(arch, true, s, 1, 1, 0), s + " confined");
            // umount2: only --transport=fuse-dev, which needs --sandbox none, unmounts when it stops
            assertEquals(s.equals("umount2") ? ALLOW : KILL, verdict(arch, false, s, 1, 1, 0), s);
        }
        // AF_UNIX as well: no socket of any family
        assertEquals(KILL, verdict(arch, true, "socket", 1, 1, 0));
        // the control socket: its peer's credentials, no other option
        assertEquals(ALLOW, verdict(arch, true, "getsockopt", 5, 1, 17));
        assertEquals(KILL, verdict(arch, true, "getsockopt", 5, 1, 4));
    }

    @ParameterizedTest
    @EnumSource(Arch.class)
    void pathsFromTheRootOrCwdAreRefusedInsideTheSandbox(Arch arch) {
        assertEquals(EACCES, verdict(arch, true, "openat", AT_FDCWD, 0x1000, 0));
        assertEquals(EACCES, verdict(arch, true, "openat", 0xffffff9cL, 0x1000, 0), "upper half ignored");
        assertEquals(ALLOW, verdict(arch, true, "openat", 7, 0x1000, 0));
        assertEquals(ALLOW, verdict(arch, false, "openat", AT_FDCWD, 0x1000, 0));
        assertEquals(EACCES, verdict(arch, true, "statx", AT_FDCWD, 0x1000, 0));
        assertEquals(EACCES, verdict(arch, true, "linkat", 5, 0x1000, AT_FDCWD, 0x2000, 0));
        assertEquals(EACCES, verdict(arch, true, "linkat", AT_FDCWD, 0x1000, 5, 0x2000, 0));
        assertEquals(ALLOW, verdict(arch, true, "linkat", 5, 0x1000, 6, 0x2000, 0));
        assertEquals(EACCES, verdict(arch, true, "symlinkat", 0x1000, AT_FDCWD, 0x2000));
        assertEquals(ALLOW, verdict(arch, true, "symlinkat", 0x1000, 9, 0x2000));
        assertEquals(EACCES, verdict(arch, true, "renameat2", 4, 0x1000, AT_FDCWD, 0x2000, 0));
        if (arch == Arch.X86_64) {
            for (String s : new String[] {"open", "stat", "lstat", "access", "readlink", "unlink", "rmdir", "rename"}) {
                assertEquals(EACCES, verdict(arch, true, s, 0x1000, 0), s);
                assertEquals(ALLOW, verdict(arch, false, s, 0x1000, 0), s);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Arch.class)
    void threadsButNoProcessesOrNamespaces(Arch arch) {
        long thread = 0x3d0f00; // glibc's pthread_create flags, CLONE_THREAD among them
        assertEquals(ALLOW, verdict(arch, true, "clone", thread));
        assertEquals(KILL, verdict(arch, true, "clone", 0x11 /* SIGCHLD: fork */));
        assertEquals(KILL, verdict(arch, true, "clone", thread | 0x10000000 /* CLONE_NEWUSER */));
        assertEquals(KILL, verdict(arch, true, "clone", thread | 0x00020000 /* CLONE_NEWNS */));
        assertEquals(ENOSYS, verdict(arch, true, "clone3", 0x1000, 88));
    }

    @ParameterizedTest
    @EnumSource(Arch.class)
    void argumentChecks(Arch arch) {
        assertEquals(ALLOW, verdict(arch, true, "unshare", 0x200 /* CLONE_FS */));
        assertEquals(KILL, verdict(arch, true, "unshare", 0x200 | 0x00020000 /* + CLONE_NEWNS */));
        assertEquals(KILL, verdict(arch, true, "unshare", 0x10000000 /* CLONE_NEWUSER */));
        assertEquals(ALLOW, verdict(arch, true, "tgkill", PID, 77, 11));
        assertEquals(KILL, verdict(arch, true, "tgkill", 1, 77, 9));
        assertEquals(ALLOW, verdict(arch, true, "prctl", 15 /* PR_SET_NAME */, 0x1000));
        assertEquals(KILL, verdict(arch, true, "prctl", 38 /* PR_SET_NO_NEW_PRIVS */, 1));
        assertEquals(KILL, verdict(arch, true, "prctl", 8 /* PR_SET_KEEPCAPS */, 1));
        assertEquals(ALLOW, verdict(arch, true, "prlimit64", 0, 7, 0, 0x1000));
        assertEquals(KILL, verdict(arch, true, "prlimit64", 0, 7, 0x1000, 0), "setting a limit");
        assertEquals(KILL, verdict(arch, true, "prlimit64", 0, 7, 0x7f0000000000L, 0), "pointer with low half 0");
        assertEquals(KILL, verdict(arch, true, "prlimit64", 1, 7, 0, 0x1000), "another process");
    }

    @Test
    void otherArchitecturesAndTheX32AbiAreKilled() {
        byte[] p = Seccomp.compile(Arch.X86_64, Seccomp.Action.KILL, true, PID);
        assertEquals(KILL, run(p, Arch.AARCH64.auditArch, 0));
        assertEquals(KILL, run(p, 0x40000003 /* i386 */, 0));
        assertEquals(KILL, run(p, Arch.X86_64.auditArch, 0x40000000));
        assertEquals(KILL, run(p, Arch.X86_64.auditArch, 0x40000000 + 59));
        assertEquals(ALLOW, run(p, Arch.X86_64.auditArch, 0));
    }

    @Test
    void theActionIsTheOneAsked() {
        for (Seccomp.Action a : Seccomp.Action.values()) {
            byte[] p = Seccomp.compile(Arch.X86_64, a, true, PID);
            assertEquals(a.ret, run(p, Arch.X86_64.auditArch, 59 /* execve */));
            assertEquals(ALLOW, run(p, Arch.X86_64.auditArch, 0 /* read */));
            assertEquals(EACCES, run(p, Arch.X86_64.auditArch, 257, AT_FDCWD), "errno rules stay");
        }
        assertEquals(Seccomp.Action.TRAP, Seccomp.Action.parse("trap"));
    }

    @Test
    void everyCallHasANumberOnX86AndNamesAreUnique() {
        Set<String> seen = new HashSet<>();
        for (SyscallAllowlist.Rule r : SyscallAllowlist.rules()) {
            assertTrue(seen.add(r.syscall), "listed twice: " + r.syscall);
            assertTrue(SyscallTable.number(Arch.X86_64, r.syscall) >= 0, r.syscall);
        }
        for (SyscallAllowlist.Group g : SyscallAllowlist.groups()) {
            assertTrue(!g.reason().isBlank() && !g.rules().isEmpty(), g.title());
        }
    }
}
