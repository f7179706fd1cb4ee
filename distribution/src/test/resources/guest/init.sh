#!/bin/busybox sh
# PID 1 of the virtio-fs test guest (busybox initramfs built by GuestImage).
# Loads the virtio-fs module chain, mounts tag "myfs" on /mnt and runs the
# workload named by vfstest.workload= on the kernel command line. Every check
# prints one line on the serial console:  RESULT <name> PASS|FAIL [detail]
# plus VALUE <key> <value> and TIME <step> <seconds> lines for the host side, and
# STEP <name> before each check (names the step that hung if the guest stops).
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /tmp
mount -t tmpfs tmpfs /tmp 2>/dev/null
cd /

WORKLOAD=mount
XATTR=0
for w in $(cat /proc/cmdline); do
    case "$w" in
        vfstest.workload=*) WORKLOAD="${w#vfstest.workload=}" ;;
        vfstest.xattr=*) XATTR="${w#vfstest.xattr=}" ;;
    esac
done

now() { cut -d' ' -f1 /proc/uptime; }
result() { echo "RESULT $1 $2 $3"; }
# value/timing write to the console directly: check() captures a check's own output
value() { echo "VALUE $1 $2" > /dev/console; }
timing() { echo "TIME $1 $(awk -v a="$2" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}')" > /dev/console; }
# check NAME FUNCTION: runs FUNCTION in a subshell with set -e (see the t_* functions);
# on failure the detail is the last traced commands and their output.
check() {
    name="$1"; shift
    echo "STEP $name"
    t0=$(now)
    # not inside "if": set -e would be ignored in the subshell
    ( set -ex; "$@" ) >/tmp/check.out 2>&1
    rc=$?
    if [ $rc = 0 ]; then
        result "$name" PASS "$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.2fs", b-a}')"
    else
        result "$name" FAIL "$(tail -n 4 /tmp/check.out | tr '\n' '|' | cut -c1-400)"
    fi
}
# fails CMD...: succeeds when CMD fails ("! CMD" does not trip set -e)
fails() { if "$@"; then return 1; fi; return 0; }
finish() {
    echo "GUEST-END workload=$WORKLOAD uptime=$(now)"
    sync
    poweroff -f
    sleep 5
}

echo "GUEST-BOOT uptime=$(now) workload=$WORKLOAD xattr=$XATTR"
for m in $(cat /lib/modules/ORDER); do
    if ! insmod "/lib/modules/$m.ko" >/tmp/insmod.out 2>&1; then
        result "insmod-$m" FAIL "$(tr '\n' ' ' </tmp/insmod.out)"
    fi
done

M=/mnt
mkdir -p $M
t_mount() { mount -t virtiofs myfs $M; grep -q " $M virtiofs " /proc/mounts; }
check mount t_mount
if ! grep -q " $M virtiofs " /proc/mounts; then
    finish
fi

if [ -f "/workload-$WORKLOAD.sh" ]; then
    . "/workload-$WORKLOAD.sh"
else
    result workload FAIL "no /workload-$WORKLOAD.sh"
fi
finish
