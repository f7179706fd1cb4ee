#!/bin/busybox sh
# PID 1 of the guest benchmark (busybox initramfs built by GuestBenchmark): loads the virtio-fs
# modules, mounts tag "myfs" on /mnt and runs a fixed workload, several passes in this one boot.
# The first pass meets a daemon that has just started (cold); the last one a warm daemon.
# Console protocol (one line each, read by the host while the guest runs):
#   MOUNTED <uptime>                     the share is mounted
#   PHASE <pass> <name> begin            a timed phase starts
#   PHASE <pass> <name> end <seconds>    it ended (guest clock, /proc/uptime)
#   BENCH-FAIL <what>                    a step failed: the run is void
#   BENCH-END                            all passes done
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
cd /

FILES=2000
BIGMIB=256
PASSES=2
for w in $(cat /proc/cmdline); do
    case "$w" in
        bench.files=*) FILES="${w#bench.files=}" ;;
        bench.bigmib=*) BIGMIB="${w#bench.bigmib=}" ;;
        bench.passes=*) PASSES="${w#bench.passes=}" ;;
    esac
done

fail() { echo "BENCH-FAIL $*"; poweroff -f; sleep 5; }
for m in $(cat /lib/modules/ORDER); do
    insmod "/lib/modules/$m.ko" || fail "insmod $m"
done
M=/mnt
mount -t virtiofs myfs $M || fail mount
echo "MOUNTED $(cut -d' ' -f1 /proc/uptime)"

now() { cut -d' ' -f1 /proc/uptime; }
# Guest caches dropped (dentries, inodes, pages; FORGETs go to the daemon) so that the next phase
# asks the daemon. Not timed. No sync: it would make the daemon syncfs the host disk.
drop() { echo 3 > /proc/sys/vm/drop_caches; }
# phase PASS NAME COMMAND...: runs and times COMMAND.
phase() {
    p="$1"; n="$2"; shift 2
    echo "PHASE $p $n begin"
    usleep 200000 # the host samples the daemon's CPU time on this line before the work starts
    t0=$(now)
    "$@" || fail "pass $p $n"
    t1=$(now)
    echo "PHASE $p $n end $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')"
}

p_create() { for i in $(seq "$FILES"); do echo "file $i" > "$D/f$i" || return 1; done; }
p_ls() { [ "$(ls -l "$D" | grep -c ' f[0-9]')" = "$FILES" ] && ls -l "$D" > /dev/null; }
p_cat() { cat "$D"/f* > /dev/null; }
p_write() {
    dd if=/dev/zero of="$D/big" bs=1M count="$BIGMIB" 2>/dev/null && [ "$(stat -c %s "$D/big")" = "$((BIGMIB * 1048576))" ]
}
p_read() { dd if="$D/big" of=/dev/null bs=1M 2>/dev/null; }
p_rm() { rm -r "$D"; }

for p in $(seq "$PASSES"); do
    D=$M/pass$p
    mkdir "$D" || fail "mkdir $D"
    phase "$p" create p_create
    drop
    phase "$p" ls-l p_ls
    drop
    phase "$p" cat p_cat
    phase "$p" write p_write
    drop
    phase "$p" read p_read
    drop
    phase "$p" rm p_rm
done
# poweroff ends the daemon (its front end goes away): give the host time to sample its CPU at the
# last end marker first.
sleep 1
echo "BENCH-END"
poweroff -f
sleep 5
