# Sourced by /init: the daemon runs with --allow-direct-io --security-label --xattr; the guest
# kernel was booted with SELinux on (no policy: it labels new files with its initial context).
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

t_direct_io() {
    vfstool dio-write $M/dio 4 5
    vfstool dio-read $M/dio 4 5
    drop_caches
    vfstool check $M/dio 4 5
    # buffered and direct views agree after a buffered overwrite
    vfstool mmap-write $M/dio2 1 9
    vfstool dio-read $M/dio2 1 9
    # the host watches the daemon's fds meanwhile: this one must carry O_DIRECT
    vfstool hold $M/dio direct 3
}
t_security_label() {
    echo l > $M/labelled
    mkdir $M/labelled-dir
    ln -s labelled $M/labelled-link
    mknod $M/labelled-fifo p
    value seclabel.file "$(vfstool getx $M/labelled security.selinux | tr -d '\0')"
    vfstool getx $M/labelled security.selinux | grep -q .
}
t_umount_simple() { cd /; umount $M; fails grep -q " $M virtiofs " /proc/mounts; }

check direct-io t_direct_io
check security-label t_security_label
check umount t_umount_simple
