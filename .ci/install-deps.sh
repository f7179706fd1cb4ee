#!/usr/bin/env bash
# Installs what building and testing virtiofsd-java needs on Debian 12 / Ubuntu: a JDK 17, Maven,
# QEMU and the guest tooling (busybox-static, cpio), FUSE, attr, e2fsprogs, util-linux, and debootstrap
# (scripts/qemu10/make-root.sh builds the trixie root with QEMU 10 for the live-migration tests).
# Idempotent: packages already present are not reinstalled, apt lists are refreshed at most once a day.
set -euo pipefail

packages=(openjdk-17-jdk-headless maven qemu-system-x86 busybox-static cpio fuse3 attr e2fsprogs util-linux debootstrap)

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi

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
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The FUSE transport tests mount through /dev/fuse.
if [ ! -e /dev/fuse ]; then
  $sudo modprobe fuse 2>/dev/null || true
fi
echo "install-deps: ${packages[*]} present"
