#!/bin/sh
# Run trixie's QEMU 10 (the root from make-root.sh) on this bookworm host, for the live-migration
# tests. QEMU runs chrooted in the trixie root inside a private mount namespace (unshare -m), with
# /dev, /proc and /sys, and every directory named with --bind mounted at the same path, so that
# socket, kernel, initramfs and log paths mean the same inside and out. Guest RAM is a memfd and
# travels to the vhost-user daemon as an fd: no file needs sharing for it. The QEMU process keeps
# this script's pid (everything is exec'd), so the caller can signal it directly.
#
#   qemu.sh [--bind DIR]... [--] QEMU-ARGS...
#   QEMU10_ROOT   the trixie root (default /var/cache/virtiofsd-java/qemu10-root; built if missing)
set -eu

here="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(sh "$here/make-root.sh" | tail -n 1)"

binds=""
while [ $# -gt 0 ]; do
    case "$1" in
        --bind) binds="$binds $(cd "$2" && pwd)"; shift 2 ;;
        --) shift; break ;;
        *) break ;;
    esac
done

# shellcheck disable=SC2086
exec unshare --mount --propagation private sh -c '
    set -eu
    root="$1"; shift
    mount --rbind /dev "$root/dev"
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    while [ "$1" != "--" ]; do
        mkdir -p "$root$1"
        mount --bind "$1" "$root$1"
        shift
    done
    shift
    exec chroot "$root" /usr/bin/qemu-system-x86_64 "$@"
' qemu10 "$ROOT" $binds -- "$@"
