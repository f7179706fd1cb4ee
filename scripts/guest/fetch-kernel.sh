#!/bin/sh
# Fetch the Debian 6.1 cloud kernel used by the QEMU guest tests and lay out
# vmlinuz plus the virtio-fs module chain (uncompressed, because busybox insmod
# cannot read .ko.xz/.ko.zst) in one directory. Idempotent: once the layout is
# complete, it only prints its path.
#
#   GUEST_KERNEL_DIR  cache directory (default /var/cache/virtiofsd-java/guest-kernel)
#
# Output (stdout, last line): the directory holding vmlinuz and modules/*.ko.
# The module load order is in modules/ORDER.
set -eu

DIR="${GUEST_KERNEL_DIR:-/var/cache/virtiofsd-java/guest-kernel}"
MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci fuse virtiofs"

complete() {
    [ -s "$DIR/vmlinuz" ] || return 1
    for m in $MODULES; do [ -s "$DIR/modules/$m.ko" ] || return 1; done
    [ -s "$DIR/modules/ORDER" ]
}

if complete; then
    echo "$DIR"
    exit 0
fi

log() { echo "fetch-kernel: $*" >&2; }

mkdir -p "$DIR"
work="$DIR/.work"
rm -rf "$work"
mkdir -p "$work/deb" "$work/root"
chmod 0777 "$work/deb"  # apt drops to user _apt for downloads

# Newest 6.1 cloud image; excludes -dbg and -unsigned variants.
pick() {
    apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' 2>/dev/null \
        | awk '{print $1}' \
        | sort -t- -k4,4n | tail -n 1
}
pkg="$(pick || true)"
if [ -z "$pkg" ]; then
    log "no linux-image-6.1.0-*-cloud-amd64 known to apt; running apt-get update"
    apt-get update -qq >&2
    pkg="$(pick || true)"
fi
[ -n "$pkg" ] || { log "no linux-image-6.1.0-*-cloud-amd64 package available"; exit 1; }
log "downloading $pkg"
(cd "$work/deb" && apt-get download -q "$pkg" >&2) || {
    log "apt-get download failed; retrying after apt-get update"
    apt-get update -qq >&2
    (cd "$work/deb" && apt-get download -q "$pkg" >&2)
}
dpkg -x "$work"/deb/*.deb "$work/root"

kver="$(ls "$work/root/lib/modules" | head -n 1)"
[ -n "$kver" ] || { log "package has no /lib/modules"; exit 1; }
vmlinuz="$(ls "$work/root/boot"/vmlinuz-* | head -n 1)"

mkdir -p "$DIR/modules"
: > "$DIR/modules/ORDER.tmp"
for m in $MODULES; do
    src="$(find "$work/root/lib/modules/$kver" \( -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" \) | head -n 1)"
    [ -n "$src" ] || { log "module $m not found in $pkg"; exit 1; }
    case "$src" in
        *.ko.xz)  xz -dc "$src" > "$DIR/modules/$m.ko.tmp" ;;
        *.ko.zst) zstd -qdc "$src" > "$DIR/modules/$m.ko.tmp" ;;
        *.ko.gz)  gzip -dc "$src" > "$DIR/modules/$m.ko.tmp" ;;
        *)        cp "$src" "$DIR/modules/$m.ko.tmp" ;;
    esac
    mv "$DIR/modules/$m.ko.tmp" "$DIR/modules/$m.ko"
    echo "$m" >> "$DIR/modules/ORDER.tmp"
done
echo "$kver" > "$DIR/KERNEL_VERSION"
cp "$vmlinuz" "$DIR/vmlinuz.tmp"
mv "$DIR/vmlinuz.tmp" "$DIR/vmlinuz"
# ORDER last: its presence marks the layout complete.
mv "$DIR/modules/ORDER.tmp" "$DIR/modules/ORDER"
rm -rf "$work"
log "kernel $kver ready"
echo "$DIR"
