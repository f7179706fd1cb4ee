# Sourced by /init: the daemon runs with --xattr --posix-acl --writeback --allow-mmap --killpriv-v2
# --preserve-noatime --cache=always. Feature checks first, then the whole mount workload under
# the same options (workload-mount.sh, which ends with umount).
as_user() { su -s /bin/sh user -c "$1"; }
as_other() { su -s /bin/sh other -c "$1"; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

t_acl_enforced() {
    mkdir $M/acl
    chmod 755 $M/acl
    echo data > $M/acl/f
    chmod 600 $M/acl/f
    fails as_user "cat $M/acl/f" 2>/dev/null
    vfstool setacl $M/acl/f access "u::rw-,u:1000:rw-,g::---,m::rw-,o::---"
    drop_caches
    [ "$(vfstool getacl $M/acl/f access)" = "u::rw-,u:1000:rw-,g::---,m::rw-,o::---" ]
    # the mask shows as the group bits
    [ "$(stat -c %a $M/acl/f)" = 660 ]
    [ "$(as_user "cat $M/acl/f")" = data ]
    as_user "echo more >> $M/acl/f"
    fails as_other "cat $M/acl/f" 2>/dev/null
    fails as_other "echo no >> $M/acl/f" 2>/dev/null
    [ "$(tail -n 1 $M/acl/f)" = more ]
    # chmod narrows the mask: user 1000 loses write
    chmod 640 $M/acl/f
    drop_caches
    [ "$(vfstool getacl $M/acl/f access)" = "u::rw-,u:1000:rw-,g::---,m::r--,o::---" ]
    fails as_user "echo no >> $M/acl/f" 2>/dev/null
    [ "$(as_user "cat $M/acl/f" | head -n 1)" = data ]
}
t_acl_default_and_umask() {
    mkdir $M/acl/dflt $M/acl/plain
    vfstool setacl $M/acl/dflt default "u::rwx,u:1000:rwx,g::r-x,m::rwx,o::---"
    # with a default ACL the ACL decides, not the caller's umask
    [ "$(vfstool create $M/acl/dflt/f 666 077)" = 660 ]
    [ "$(vfstool getacl $M/acl/dflt/f access)" = "u::rw-,u:1000:rwx,g::r-x,m::rw-,o::---" ]
    [ "$(vfstool mkdir $M/acl/dflt/d 777 077)" = 770 ]
    [ "$(vfstool getacl $M/acl/dflt/d default)" = "u::rwx,u:1000:rwx,g::r-x,m::rwx,o::---" ]
    # without one the umask applies (the daemon sets it, the guest kernel leaves it to us)
    [ "$(vfstool create $M/acl/plain/f 666 077)" = 600 ]
    [ "$(vfstool mkdir $M/acl/plain/d 777 027)" = 750 ]
    [ "$(vfstool create $M/acl/plain/g 666 0)" = 666 ]
}
t_killpriv() {
    printf 'x\n' > $M/kp
    chmod 4777 $M/kp
    printf 'x\n' > $M/kg
    chmod 2777 $M/kg
    printf 'x\n' > $M/kn
    chmod 2766 $M/kn
    printf 'x\n' > $M/kt
    chmod 4777 $M/kt
    as_user "echo w >> $M/kp && echo w >> $M/kg && echo w >> $M/kn && : > $M/kt"
    drop_caches
    [ "$(stat -c %a $M/kp)" = 777 ]
    [ "$(stat -c %a $M/kg)" = 777 ]
    # setgid without group execute is not a privilege: kept, as the kernel does
    [ "$(stat -c %a $M/kn)" = 2766 ]
    [ "$(stat -c %a $M/kt)" = 777 ]
    [ "$(stat -c %s $M/kt)" = 0 ]
    # root writing keeps them
    printf 'x\n' > $M/kr
    chmod 4755 $M/kr
    echo w >> $M/kr
    drop_caches
    [ "$(stat -c %a $M/kr)" = 4755 ]
}
t_writeback() {
    dd if=/dev/urandom of=/tmp/wb bs=64k count=64 2>/dev/null
    dd if=/tmp/wb of=$M/wb bs=4096 2>/dev/null
    # overlapping partial writes into cached pages
    dd if=/tmp/wb of=$M/wb bs=1000 count=3 seek=7 conv=notrunc 2>/dev/null
    dd if=/tmp/wb of=/tmp/wb bs=1000 count=3 seek=7 conv=notrunc 2>/dev/null
    value wb.sha256 "$(sha256sum /tmp/wb | cut -d' ' -f1)"
    sync
    drop_caches
    cmp /tmp/wb $M/wb
    # a write-only open: the kernel reads to fill partial pages (the daemon opened it read-write)
    printf abcdef > $M/wo
    drop_caches
    printf XY | dd of=$M/wo bs=1 seek=2 conv=notrunc 2>/dev/null
    sync
    drop_caches
    [ "$(cat $M/wo)" = abXYef ]
    echo a > $M/ap
    echo b >> $M/ap
    drop_caches
    [ "$(cat $M/ap | tr '\n' .)" = a.b. ]
    rm /tmp/wb
}
t_mmap() {
    vfstool mmap-write $M/mm 4 11
    drop_caches
    vfstool check $M/mm 4 11
}
t_noatime() {
    # the host set both files' atime to 2001; a read with O_NOATIME must not move it
    vfstool noatime $M/na
    cat $M/nb > /dev/null
}
t_no_direct_io() {
    # without --allow-direct-io the host file is opened without O_DIRECT (the host watches)
    dd if=/dev/zero of=$M/nodio bs=4096 count=4 2>/dev/null
    sync
    vfstool hold $M/nodio direct 3
}

check acl-enforced t_acl_enforced
check acl-default-umask t_acl_default_and_umask
check killpriv-v2 t_killpriv
check writeback t_writeback
check mmap t_mmap
check noatime t_noatime
check no-direct-io t_no_direct_io
. /workload-mount.sh
