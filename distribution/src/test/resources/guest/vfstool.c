/*
 * vfstool: a test fixture for the QEMU guest tests (compiled with gcc -static when the initramfs is
 * built; busybox has no xattr, ACL, O_DIRECT or mmap tools). Not part of the daemon.
 *
 *   vfstool setx PATH NAME VALUE        setxattr (lsetxattr for links)
 *   vfstool getx PATH NAME              prints the value
 *   vfstool listx PATH                  prints the names, one per line
 *   vfstool rmx PATH NAME               removexattr
 *   vfstool setacl PATH access|default SPEC   SPEC like u::rw-,u:1000:rw-,g::r--,m::rw-,o::---
 *   vfstool getacl PATH access|default  prints the ACL in the same form
 *   vfstool dio-write PATH MIB SEED     O_DIRECT write of MIB MiB of pattern SEED (4 KiB aligned)
 *   vfstool dio-read PATH MIB SEED      O_DIRECT read, compared with the pattern
 *   vfstool mmap-write PATH MIB SEED    MAP_SHARED write of the pattern, msync
 *   vfstool check PATH MIB SEED         plain read, compared with the pattern
 *   vfstool create PATH MODE UMASK      open(O_CREAT|O_EXCL) under UMASK, prints the file's mode
 *   vfstool mkdir PATH MODE UMASK       mkdir under UMASK, prints the directory's mode
 *   vfstool noatime PATH                open O_RDONLY|O_NOATIME and read one byte
 *   vfstool hold PATH direct|plain SECS open O_RDONLY (|O_DIRECT), read 4 KiB, keep it open SECS seconds
 * Exit 0 on success; otherwise a line "vfstool: what: strerror" and exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static int fail(const char *what) {
    fprintf(stderr, "vfstool: %s: %s\n", what, strerror(errno));
    return 1;
}

static unsigned char pattern(uint64_t i, unsigned seed) {
    uint64_t x = i * 0x9E3779B97F4A7C15ull + seed;
    x ^= x >> 29;
    return (unsigned char)(x ^ (x >> 17));
}

/* ACL xattr: version 2, then {u16 tag, u16 perm, u32 id} entries */
#define ACL_VERSION 2
#define TAG_USER_OBJ 1
#define TAG_USER 2
#define TAG_GROUP_OBJ 4
#define TAG_GROUP 8
#define TAG_MASK 0x10
#define TAG_OTHER 0x20

static const char *acl_name(const char *kind) {
    return strcmp(kind, "default") == 0 ? "system.posix_acl_default" : "system.posix_acl_access";
}

static int setacl(const char *path, const char *kind, const char *spec) {
    unsigned char buf[4 + 8 * 64];
    int n = 0;
    uint32_t v = ACL_VERSION;
    memcpy(buf, &v, 4);
    char *s = strdup(spec), *save = NULL;
    for (char *e = strtok_r(s, ",", &save); e && n < 64; e = strtok_r(NULL, ",", &save)) {
        char *c1 = strchr(e, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c1 || !c2) {
            errno = EINVAL;
            return fail("acl spec");
        }
        uint16_t tag;
        int hasid = c2 > c1 + 1;
        switch (e[0]) {
        case 'u': tag = hasid ? TAG_USER : TAG_USER_OBJ; break;
        case 'g': tag = hasid ? TAG_GROUP : TAG_GROUP_OBJ; break;
        case 'm': tag = TAG_MASK; break;
        case 'o': tag = TAG_OTHER; break;
        default: errno = EINVAL; return fail("acl tag");
        }
        uint16_t perm = (strchr(c2 + 1, 'r') ? 4 : 0) | (strchr(c2 + 1, 'w') ? 2 : 0) | (strchr(c2 + 1, 'x') ? 1 : 0);
        uint32_t uid = hasid ? (uint32_t)strtoul(c1 + 1, NULL, 10) : 0xffffffffu;
        memcpy(buf + 4 + 8 * n, &tag, 2);
        memcpy(buf + 4 + 8 * n + 2, &perm, 2);
        memcpy(buf + 4 + 8 * n + 4, &uid, 4);
        n++;
    }
    if (setxattr(path, acl_name(kind), buf, 4 + 8 * n, 0) != 0) return fail("setxattr acl");
    return 0;
}

static int getacl(const char *path, const char *kind) {
    unsigned char buf[4 + 8 * 64];
    ssize_t len = getxattr(path, acl_name(kind), buf, sizeof buf);
    if (len < 0) return fail("getxattr acl");
    for (ssize_t o = 4; o + 8 <= len; o += 8) {
        uint16_t tag, perm;
        uint32_t id;
        memcpy(&tag, buf + o, 2);
        memcpy(&perm, buf + o + 2, 2);
        memcpy(&id, buf + o + 4, 4);
        char t = tag == TAG_USER_OBJ || tag == TAG_USER ? 'u' : tag == TAG_GROUP_OBJ || tag == TAG_GROUP ? 'g' : tag == TAG_MASK ? 'm' : 'o';
        if (tag == TAG_USER || tag == TAG_GROUP)
            printf("%s%c:%u:%c%c%c", o > 4 ? "," : "", t, id, perm & 4 ? 'r' : '-', perm & 2 ? 'w' : '-', perm & 1 ? 'x' : '-');
        else
            printf("%s%c::%c%c%c", o > 4 ? "," : "", t, perm & 4 ? 'r' : '-', perm & 2 ? 'w' : '-', perm & 1 ? 'x' : '-');
    }
    printf("\n");
    return 0;
}

static int dio(const char *path, long mib, unsigned seed, int write) {
    size_t chunk = 1 << 20;
    unsigned char *b;
    if (posix_memalign((void **)&b, 4096, chunk) != 0) return fail("posix_memalign");
    int fd = open(path, (write ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY) | O_DIRECT, 0644);
    if (fd < 0) return fail("open O_DIRECT");
    for (long m = 0; m < mib; m++) {
        uint64_t base = (uint64_t)m * chunk;
        if (write) {
            for (size_t i = 0; i < chunk; i++) b[i] = pattern(base + i, seed);
            if (pwrite(fd, b, chunk, base) != (ssize_t)chunk) return fail("pwrite O_DIRECT");
        } else {
            memset(b, 0, chunk);
            if (pread(fd, b, chunk, base) != (ssize_t)chunk) return fail("pread O_DIRECT");
            for (size_t i = 0; i < chunk; i++)
                if (b[i] != pattern(base + i, seed)) {
                    fprintf(stderr, "vfstool: byte %llu differs\n", (unsigned long long)(base + i));
                    return 1;
                }
        }
    }
    if (close(fd) != 0) return fail("close");
    return 0;
}

static int mmap_write(const char *path, long mib, unsigned seed) {
    size_t len = (size_t)mib << 20;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return fail("open");
    if (ftruncate(fd, len) != 0) return fail("ftruncate");
    unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) return fail("mmap MAP_SHARED");
    for (size_t i = 0; i < len; i++) m[i] = pattern(i, seed);
    if (msync(m, len, MS_SYNC) != 0) return fail("msync");
    munmap(m, len);
    close(fd);
    return 0;
}

static int check(const char *path, long mib, unsigned seed) {
    size_t chunk = 1 << 16;
    unsigned char *b = malloc(chunk);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fail("open");
    uint64_t total = (uint64_t)mib << 20, off = 0;
    while (off < total) {
        ssize_t n = read(fd, b, chunk);
        if (n <= 0) {
            fprintf(stderr, "vfstool: short file at %llu\n", (unsigned long long)off);
            return 1;
        }
        for (ssize_t i = 0; i < n; i++)
            if (b[i] != pattern(off + i, seed)) {
                fprintf(stderr, "vfstool: byte %llu differs\n", (unsigned long long)(off + i));
                return 1;
            }
        off += n;
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: see vfstool.c\n");
        return 2;
    }
    const char *cmd = argv[1], *path = argv[2];
    if (!strcmp(cmd, "setx") && argc == 5) {
        if (lsetxattr(path, argv[3], argv[4], strlen(argv[4]), 0) != 0) return fail("setxattr");
        return 0;
    }
    if (!strcmp(cmd, "getx") && argc == 4) {
        char v[4096];
        ssize_t n = lgetxattr(path, argv[3], v, sizeof v - 1);
        if (n < 0) return fail("getxattr");
        v[n] = 0;
        printf("%s\n", v);
        return 0;
    }
    if (!strcmp(cmd, "listx") && argc == 3) {
        char l[65536];
        ssize_t n = llistxattr(path, l, sizeof l);
        if (n < 0) return fail("listxattr");
        for (ssize_t i = 0; i < n; i += strlen(l + i) + 1) printf("%s\n", l + i);
        return 0;
    }
    if (!strcmp(cmd, "rmx") && argc == 4) {
        if (lremovexattr(path, argv[3]) != 0) return fail("removexattr");
        return 0;
    }
    if (!strcmp(cmd, "setacl") && argc == 5) return setacl(path, argv[3], argv[4]);
    if (!strcmp(cmd, "getacl") && argc == 4) return getacl(path, argv[3]);
    if (!strcmp(cmd, "dio-write") && argc == 5) return dio(path, atol(argv[3]), atoi(argv[4]), 1);
    if (!strcmp(cmd, "dio-read") && argc == 5) return dio(path, atol(argv[3]), atoi(argv[4]), 0);
    if (!strcmp(cmd, "mmap-write") && argc == 5) return mmap_write(path, atol(argv[3]), atoi(argv[4]));
    if (!strcmp(cmd, "check") && argc == 5) return check(path, atol(argv[3]), atoi(argv[4]));
    if ((!strcmp(cmd, "create") || !strcmp(cmd, "mkdir")) && argc == 5) {
        umask((mode_t)strtol(argv[4], NULL, 8));
        mode_t mode = (mode_t)strtol(argv[3], NULL, 8);
        if (!strcmp(cmd, "create")) {
            int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
            if (fd < 0) return fail("create");
            close(fd);
        } else if (mkdir(path, mode) != 0) {
            return fail("mkdir");
        }
        struct stat st;
        if (stat(path, &st) != 0) return fail("stat");
        printf("%o\n", st.st_mode & 07777);
        return 0;
    }
    if (!strcmp(cmd, "noatime") && argc == 3) {
        int fd = open(path, O_RDONLY | O_NOATIME);
        if (fd < 0) return fail("open O_NOATIME");
        char c;
        if (read(fd, &c, 1) < 0) return fail("read");
        close(fd);
        return 0;
    }
    if (!strcmp(cmd, "hold") && argc == 5) {
        unsigned char *b;
        if (posix_memalign((void **)&b, 4096, 4096) != 0) return fail("posix_memalign");
        int fd = open(path, O_RDONLY | (!strcmp(argv[3], "direct") ? O_DIRECT : 0));
        if (fd < 0) return fail("open");
        if (pread(fd, b, 4096, 0) < 0) return fail("pread");
        sleep(atoi(argv[4]));
        close(fd);
        return 0;
    }
    fprintf(stderr, "vfstool: bad command %s\n", cmd);
    return 2;
}
