# Sourced by /init: what any daemon command line must give (libvirt, Kata, Talos): a mount that
# reads what the host put there, writes, and unmounts.
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
t_read_host() { [ "$(cat $M/from-host)" = host ]; }
t_write() {
    echo guest > $M/from-guest
    mkdir -p $M/gdir
    dd if=/dev/urandom of=$M/gdir/blob bs=64k count=16 2>/dev/null
    value blob.sha256 "$(sha256sum $M/gdir/blob | cut -d' ' -f1)"
    sync
    drop_caches
    [ "$(cat $M/from-guest)" = guest ]
    [ "$(stat -c %s $M/gdir/blob)" = 1048576 ]
}
t_umount_simple() { cd /; umount $M; fails grep -q " $M virtiofs " /proc/mounts; }
check read-host t_read_host
check write t_write
check umount t_umount_simple
