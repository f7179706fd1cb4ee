package dev.virtiofsd.linux.sandbox;

import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * System call numbers of the two architectures the daemon runs on, by name, for the calls the
 * allowlist names or a test refuses (x86_64: arch/x86/entry/syscalls/syscall_64.tbl; aarch64: the
 * generic table include/uapi/asm-generic/unistd.h). -1: the call does not exist on that architecture.
 * SyscallTableTest checks every number against the kernel headers when they are installed.
 */
final class SyscallTable {
    private static final Map<String, int[]> NUMBERS = new HashMap<>();

    static {
        put("read", 0, 63);
        put("write", 1, 64);
        put("readv", 19, 65);
        put("writev", 20, 66);
        put("pread64", 17, 67);
        put("pwrite64", 18, 68);
        put("preadv", 295, 69);
        put("pwritev", 296, 70);
        put("preadv2", 327, 286);
        put("pwritev2", 328, 287);
        put("close", 3, 57);
        put("dup", 32, 23);
        put("dup3", 292, 24);
        put("fcntl", 72, 25);
        put("lseek", 8, 62);
        put("poll", 7, -1);
        put("ppoll", 271, 73);
        put("eventfd2", 290, 19);
        put("openat", 257, 56);
        put("open", 2, -1);
        put("newfstatat", 262, 79);
        put("fstat", 5, 80);
        put("statx", 332, 291);
        put("fstatfs", 138, 44);
        put("statfs", 137, 43);
        put("getdents64", 217, 61);
        put("mkdirat", 258, 34);
        put("mknodat", 259, 33);
        put("symlinkat", 266, 36);
        put("linkat", 265, 37);
        put("unlinkat", 263, 35);
        put("renameat", 264, 38);
        put("renameat2", 316, 276);
        put("readlinkat", 267, 78);
        put("fchownat", 260, 54);
        put("fchown", 93, 55);
        put("fchmodat", 268, 53);
        put("fchmod", 91, 52);
        put("utimensat", 280, 88);
        put("ftruncate", 77, 46);
        put("fallocate", 285, 47);
        put("fsync", 74, 82);
        put("fdatasync", 75, 83);
        put("syncfs", 306, 267);
        put("copy_file_range", 326, 285);
        put("flock", 73, 32);
        put("name_to_handle_at", 303, 264);
        put("open_by_handle_at", 304, 265);
        put("faccessat", 269, 48);
        put("faccessat2", 439, 439);
        put("fgetxattr", 193, 10);
        put("fsetxattr", 190, 7);
        put("flistxattr", 196, 13);
        put("fremovexattr", 199, 16);
        put("getxattr", 191, 8);
        put("setxattr", 188, 5);
        put("listxattr", 194, 11);
        put("removexattr", 197, 14);
        put("lgetxattr", 192, 9);
        put("umask", 95, 166);
        put("stat", 4, -1);
        put("lstat", 6, -1);
        put("access", 21, -1);
        put("readlink", 89, -1);
        put("unlink", 87, -1);
        put("rmdir", 84, -1);
        put("rename", 82, -1);
        put("mkdir", 83, -1);
        put("chmod", 90, -1);
        put("chown", 92, -1);
        put("lchown", 94, -1);
        put("creat", 85, -1);
        put("link", 86, -1);
        put("symlink", 88, -1);
        put("utimes", 235, -1);
        put("truncate", 76, 45);
        put("brk", 12, 214);
        put("mmap", 9, 222);
        put("munmap", 11, 215);
        put("mremap", 25, 216);
        put("mprotect", 10, 226);
        put("madvise", 28, 233);
        put("membarrier", 324, 283);
        put("futex", 202, 98);
        put("clone", 56, 220);
        put("clone3", 435, 435);
        put("set_robust_list", 273, 99);
        put("rseq", 334, 293);
        put("gettid", 186, 178);
        put("sched_yield", 24, 124);
        put("sched_getaffinity", 204, 123);
        put("exit", 60, 93);
        put("exit_group", 231, 94);
        put("restart_syscall", 219, 128);
        put("nanosleep", 35, 101);
        put("clock_nanosleep", 230, 115);
        put("set_tid_address", 218, 96);
        put("rt_sigaction", 13, 134);
        put("rt_sigprocmask", 14, 135);
        put("rt_sigreturn", 15, 139);
        put("sigaltstack", 131, 132);
        put("tgkill", 234, 131);
        put("tkill", 200, 130);
        put("kill", 62, 129);
        put("clock_gettime", 228, 113);
        put("clock_getres", 229, 114);
        put("gettimeofday", 96, 169);
        put("time", 201, -1);
        put("sysinfo", 99, 179);
        put("getrusage", 98, 165);
        put("uname", 63, 160);
        put("getcpu", 309, 168);
        put("getpid", 39, 172);
        put("getppid", 110, 173);
        put("getuid", 102, 174);
        put("geteuid", 107, 175);
        put("getgid", 104, 176);
        put("getegid", 108, 177);
        put("capget", 125, 90);
        put("prlimit64", 302, 261);
        put("getrlimit", 97, 163);
        put("setresuid", 117, 147);
        put("setresgid", 119, 149);
        put("setgroups", 116, 159);
        put("accept4", 288, 242);
        put("recvmsg", 47, 212);
        put("sendmsg", 46, 211);
        put("shutdown", 48, 210);
        put("socket", 41, 198);
        put("socketpair", 53, 199);
        put("getsockopt", 55, 209);
        put("getrandom", 318, 278);
        put("prctl", 157, 167);
        put("execve", 59, 221);
        put("execveat", 322, 281);
        put("ptrace", 101, 117);
        put("pivot_root", 155, 41);
        put("chroot", 161, 51);
        put("mount", 165, 40);
        put("umount2", 166, 39);
        put("unshare", 272, 97);
        put("setns", 308, 268);
        put("seccomp", 317, 277);
        put("fchdir", 81, 50);
        put("chdir", 80, 49);
    }

    private SyscallTable() {}

    private static void put(String name, int x86_64, int aarch64) {
        NUMBERS.put(name, new int[] {x86_64, aarch64});
    }

    /** The number of {@code name} on {@code arch}, -1 if it has none there. */
    static int number(Arch arch, String name) {
        int[] n = NUMBERS.get(name);
        if (n == null) {
            throw new IllegalArgumentException("no system call number for " + name);
        }
        return arch == Arch.X86_64 ? n[0] : n[1];
    }

    /** Every name in the table. */
    static Set<String> names() {
        return Collections.unmodifiableSet(NUMBERS.keySet());
    }
}
