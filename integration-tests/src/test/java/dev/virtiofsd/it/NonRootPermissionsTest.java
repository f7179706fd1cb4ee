package dev.virtiofsd.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;

/**
 * Operations of a non-root user (uid/gid 1000, no supplementary groups, via setpriv) on the native
 * twin and through the mount: the ownership of what it creates, and EACCES/EPERM exactly where the
 * kernel says so. Each script prints one line per operation ("name: rc=N message"), with the
 * directory replaced by D; both listings must be equal and contain the pinned expectations.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NonRootPermissionsTest {
    private static final int USER = 1000;
    /** Runs "$@" and prints its status and its output with the directory replaced by D. */
    private static final String PRELUDE = "umask 022; cd \"$1\" || exit 99\n"
            + "t() { n=$1; shift; out=$(\"$@\" 2>&1); rc=$?; echo \"$n: rc=$rc $(echo \"$out\" | sed \"s#$PWD#D#g\")\"; }\n";

    private Twins twins;

    @BeforeAll
    void mount() {
        twins = Twins.mount(o -> o.xattr(true));
    }

    @AfterAll
    void unmount() {
        if (twins != null) {
            twins.close();
        }
    }

    /** Root-owned fixture made natively in both the twin and the shared dir. */
    private static final String SETUP = "umask 022; cd \"$1\" && mkdir pub priv ro sticky sgid"
            + " && chmod 777 pub && chmod 700 priv && chmod 755 ro && chmod 1777 sticky && chmod 2777 sgid"
            + " && echo secret > priv/file && echo root > rootfile && chmod 644 rootfile"
            + " && echo shared > sticky/rootowned && chmod 666 sticky/rootowned"
            + " && echo w > worldwritable && chmod 666 worldwritable"
            + " && echo s > setuid && chmod 4777 setuid";

    private String[] runBoth(TestInfo info, String script) {
        Twins.Case c = twins.newCase(info.getTestMethod().orElseThrow().getName());
        for (Path d : new Path[] {c.nat, c.shared}) {
            Shell.Result r = Shell.sh(20, SETUP, d.toString());
            assertEquals(0, r.status(), "setup: " + r.output());
            Shell.sh(10, "chmod 755 \"$1\"", d.toString());
        }
        Shell.Result nat = Shell.shAs(USER, 60, PRELUDE + script, c.nat.toString());
        Shell.Result fuse = Shell.shAs(USER, 60, PRELUDE + script, c.fuse.toString());
        System.out.println(info.getDisplayName() + " as uid " + USER + " through the mount:\n" + fuse.output());
        assertEquals(nat.output(), fuse.output(), "uid " + USER + " native vs fuse");
        return new String[] {nat.output(), fuse.output()};
    }

    @Test
    void filesAndDirectoriesCreatedByAUserAreOwnedByIt(TestInfo info) {
        String out = runBoth(
                info,
                ""
                        + "t touch touch pub/mine\n"
                        + "t stat-file stat -c '%u:%g %a %F' pub/mine\n"
                        + "t mkdir mkdir pub/mydir\n"
                        + "t stat-dir stat -c '%u:%g %a %F' pub/mydir\n"
                        + "t mkfifo mkfifo pub/fifo\n"
                        + "t stat-fifo stat -c '%u:%g %a %F' pub/fifo\n"
                        + "t symlink ln -s mine pub/link\n"
                        + "t stat-link stat -c '%u:%g %F' pub/link\n"
                        + "t sgid-inherit touch sgid/f\n"
                        + "t stat-sgid stat -c '%u:%g' sgid/f\n"
                        + "t sgid-dir mkdir sgid/d\n"
                        + "t stat-sgid-dir stat -c '%u:%g %a' sgid/d\n"
                        + "t chmod-own chmod 600 pub/mine\n"
                        + "t stat-chmod stat -c '%a' pub/mine\n"
                        + "t chgrp-other chgrp 0 pub/mine\n"
                        + "t chown-other chown 0 pub/mine\n"
                        + "t rename-own mv pub/mine pub/mine2\n"
                        + "t unlink-own rm pub/mine2\n")[1];
        assertTrue(out.contains("stat-file: rc=0 1000:1000 644 regular empty file"), out);
        assertTrue(out.contains("stat-dir: rc=0 1000:1000 755 directory"), out);
        assertTrue(out.contains("stat-fifo: rc=0 1000:1000 644 fifo"), out);
        assertTrue(out.contains("stat-sgid: rc=0 1000:0"), "setgid directory passes its group on: " + out);
        assertTrue(out.contains("stat-sgid-dir: rc=0 1000:0 2755"), out);
        assertTrue(out.contains("chown-other: rc=1"), out);
    }

    @Test
    void permissionDeniedWhereTheKernelSaysSo(TestInfo info) {
        String out = runBoth(
                info,
                ""
                        + "t write-rootfile sh -c 'echo x > rootfile'\n"
                        + "t read-priv cat priv/file\n"
                        + "t list-priv ls priv\n"
                        + "t create-in-ro touch ro/x\n"
                        + "t mkdir-in-ro mkdir ro/d\n"
                        + "t unlink-rootfile rm -f rootfile\n"
                        + "t rename-rootfile mv rootfile pub/\n"
                        + "t chmod-rootfile chmod 777 rootfile\n"
                        + "t utime-rootfile touch -d @1000 rootfile\n"
                        + "t utime-now-rootfile touch rootfile\n"
                        + "t utime-now-worldwritable touch worldwritable\n"
                        + "t utime-set-worldwritable touch -d @1000 worldwritable\n"
                        + "t truncate-rootfile truncate -s 0 rootfile\n"
                        + "t sticky-unlink rm -f sticky/rootowned\n"
                        + "t sticky-write sh -c 'echo more >> sticky/rootowned'\n"
                        + "t hardlink-rootfile ln rootfile pub/hl\n"
                        + "t setxattr-rootfile setfattr -n user.x -v 1 rootfile\n"
                        + "t setxattr-own sh -c 'touch pub/x && setfattr -n user.x -v 1 pub/x && getfattr --only-values -n user.x pub/x'\n"
                        + "t trusted-xattr setfattr -n trusted.x -v 1 pub/x\n"
                        + "t mknod-chr mknod pub/null c 1 3\n")[1];
        assertTrue(out.contains("write-rootfile: rc=") && out.contains("Permission denied"), out);
        for (String denied : new String[] {
            "read-priv",
            "list-priv",
            "create-in-ro",
            "mkdir-in-ro",
            "unlink-rootfile",
            "rename-rootfile",
            "truncate-rootfile",
            "hardlink-rootfile",
            "setxattr-rootfile",
            "chmod-rootfile",
            "utime-rootfile",
            "utime-now-rootfile",
            "sticky-unlink",
            "mknod-chr"
        }) {
            assertTrue(
                    out.lines().anyMatch(l -> l.startsWith(denied + ": rc=") && !l.startsWith(denied + ": rc=0")),
                    denied + " must fail: " + out);
        }
        assertTrue(out.contains("utime-now-worldwritable: rc=0"), out);
        assertTrue(out.contains("sticky-write: rc=0"), out);
        assertTrue(out.contains("setxattr-own: rc=0 1"), out);
    }

    @Test
    void writeByAnotherUserClearsSetuid(TestInfo info) {
        String out = runBoth(
                info, "" + "t write-setuid sh -c 'echo data >> setuid'\n" + "t stat-setuid stat -c '%a %s' setuid\n")[
                1];
        assertTrue(out.contains("stat-setuid: rc=0 777 7"), "suid bit killed by an unprivileged write: " + out);
    }
}
