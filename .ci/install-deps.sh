#!/usr/bin/env bash
# Installs everything building and testing virtiofsd-java needs on Debian 12 / Ubuntu, so that the
# README's test command (mvn -B verify) passes on its own afterwards:
#  - packages: a JDK 17, Maven, QEMU and the guest tooling (busybox-static, cpio, gcc and libc6-dev
#    for the guests' static test helper), FUSE, attr and acl, e2fsprogs, util-linux, uidmap
#    (newuidmap/newgidmap for --uid-map), systemd (systemd-socket-activate hands the Kata test its
#    fd 3), libvirt (libvirt-daemon-system 9.0: the libvirt tests start virtlogd/libvirtd
#    themselves, no running systemd needed), debootstrap (the trixie root with QEMU 10 for the
#    live-migration tests);
#  - the guest kernel for the QEMU tests (scripts/guest/fetch-kernel.sh);
#  - the peer daemon, Rust virtiofsd 1.13 (scripts/peer/install-virtiofsd.sh), which the
#    benchmark's smoke test and the option-compatibility tests run beside ours;
#  - /srv/share, the README's example shared directory;
#  - the user virtiofsd-idmap with subordinate ids 600000-665535 (the --uid-map/--gid-map test).
# Idempotent: packages already present are not reinstalled, apt lists are refreshed at most once a
# day, the kernel and the peer are fetched once.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(openjdk-17-jdk-headless maven qemu-system-x86 busybox-static cpio gcc libc6-dev fuse3 attr acl
    e2fsprogs util-linux uidmap systemd libvirt-daemon-system libvirt-clients debootstrap linux-libc-dev)

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi

start=$(date +%s)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  stamp=/var/lib/apt/periodic/update-success-stamp
  if [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440 2>/dev/null)" ] || [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ]; then
    $sudo apt-get update -q
  fi
  # policy-rc.d: installing libvirt must not try to start its daemons (there may be no init
  # system at all; the tests start virtlogd and libvirtd themselves).
  policy=/usr/sbin/policy-rc.d
  own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 0755 "$policy"
    own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || { [ -n "$own_policy" ] && $sudo rm -f "$policy"; exit 1; }
  if [ -n "$own_policy" ]; then
    $sudo rm -f "$policy"
  fi
fi

# The FUSE transport tests mount through /dev/fuse.
if [ ! -e /dev/fuse ]; then
  $sudo modprobe fuse 2>/dev/null || true
fi

# The QEMU guest tests boot a Debian 6.1 cloud kernel (fetched once, cached).
$sudo bash scripts/guest/fetch-kernel.sh >/dev/null

# The live-migration tests run QEMU 10 from a Debian trixie root (debootstrap, about 2 min the first
# time, cached under /var/cache/virtiofsd-java): bookworm's QEMU 7.2 cannot migrate vhost-user-fs.
$sudo bash scripts/qemu10/make-root.sh >/dev/null

# The peer daemon (from Debian trixie, into /opt/virtiofsd-peer, without touching this machine's libc).
$sudo bash scripts/peer/install-virtiofsd.sh >/dev/null

# The README's example shared directory.
$sudo mkdir -p /srv/share

# The --uid-map/--gid-map test (SandboxIT) runs the daemon as an unprivileged user whose subordinate
# ids (/etc/subuid, /etc/subgid) newuidmap/newgidmap map into its user namespace.
idmap_user=virtiofsd-idmap
if ! id "$idmap_user" >/dev/null 2>&1; then
  $sudo useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$idmap_user"
fi
if ! grep -q "^$idmap_user:" /etc/subuid 2>/dev/null || ! grep -q "^$idmap_user:" /etc/subgid 2>/dev/null; then
  $sudo usermod --add-subuids 600000-665535 --add-subgids 600000-665535 "$idmap_user"
fi

echo "install-deps: ${packages[*]}, guest kernel, QEMU 10 root, peer virtiofsd 1.13, /srv/share, user $idmap_user present ($(( $(date +%s) - start )) s)"
