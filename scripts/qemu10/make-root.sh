#!/bin/sh
# Build (once) a Debian trixie root holding QEMU 10 (qemu-system-x86), for the live-migration
# tests: bookworm's QEMU 7.2 cannot migrate a vhost-user-fs device, trixie's 10.0 can, and this
# machine's libc stays bookworm's. The root is made with debootstrap (minbase) from the same
# Debian mirror as this machine's apt sources, then QEMU is installed in it with apt-get
# (--no-install-recommends). Cached: a complete root (stamp file) is only printed.
# scripts/qemu10/qemu.sh runs QEMU inside it.
#
#   QEMU10_ROOT    the root (default /var/cache/virtiofsd-java/qemu10-root)
#   QEMU10_MIRROR  Debian mirror (default: the first deb.debian.org-style URI of /etc/apt)
#
# Output (stdout, last line): the root directory.
set -eu

ROOT="${QEMU10_ROOT:-/var/cache/virtiofsd-java/qemu10-root}"
STAMP="$ROOT/.virtiofsd-java-qemu10-complete"

log() { echo "qemu10/make-root: $*" >&2; }

complete() {
    [ -e "$STAMP" ] && [ -x "$ROOT/usr/bin/qemu-system-x86_64" ]
}
if complete; then
    echo "$ROOT"
    exit 0
fi

[ "$(id -u)" -eq 0 ] || { log "needs root (debootstrap, chroot)"; exit 1; }

mirror="${QEMU10_MIRROR:-}"
if [ -z "$mirror" ]; then
    # The mirror this machine already uses for Debian's main archive.
    mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | grep -Eo 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n 1 | tr -d ' ' || true)"
    [ -n "$mirror" ] || mirror="http://deb.debian.org/debian"
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2 \
        || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2; }
fi

start=$(date +%s)
new="$ROOT.new"
rm -rf "$new"
mkdir -p "$new"
log "debootstrap --variant=minbase trixie $new $mirror"
debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    trixie "$new" "$mirror" >&2

# apt inside the root runs without daemons or /proc tricks; QEMU's postinst needs nothing more.
cleanup() { umount "$new/proc" 2>/dev/null || true; umount "$new/dev" 2>/dev/null || true; }
trap cleanup EXIT
mount -t proc proc "$new/proc"
mount --bind /dev "$new/dev"
cp /etc/resolv.conf "$new/etc/resolv.conf" 2>/dev/null || true
log "apt-get install qemu-system-x86 (trixie)"
chroot "$new" sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q --no-install-recommends qemu-system-x86 && apt-get clean' >&2
cleanup
trap - EXIT

version="$(chroot "$new" /usr/bin/qemu-system-x86_64 --version | head -n 1)"
case "$version" in
    *"version 1"[0-9]*|*"version 9."*) ;;
    *) log "unexpected QEMU in the trixie root: $version"; exit 1 ;;
esac
touch "$new/.virtiofsd-java-qemu10-complete"
rm -rf "$ROOT"
mv "$new" "$ROOT"
log "$version ready in $ROOT after $(( $(date +%s) - start )) s"
echo "$ROOT"
