#!/bin/sh
# Install Rust virtiofsd 1.13 (Debian trixie) next to, not into, this bookworm
# system: trixie's virtiofsd needs glibc >= 2.39, so it runs with trixie's own
# loader and libraries, extracted with dpkg -x into a private folder. The trixie
# apt source gets Pin-Priority 1 (below the 100 of installed versions, like
# experimental) so that no upgrade or install ever pulls from it unasked.
# Idempotent: a working install is left alone.
#
#   VIRTIOFSD_PEER_DIR  install folder (default /opt/virtiofsd-peer)
#
# Result: $VIRTIOFSD_PEER_DIR/virtiofsd (wrapper script); its path is printed.
set -eu

DIR="${VIRTIOFSD_PEER_DIR:-/opt/virtiofsd-peer}"
ROOT="$DIR/root"
WRAPPER="$DIR/virtiofsd"
SOURCES=/etc/apt/sources.list.d/virtiofsd-peer-trixie.sources
PREFS=/etc/apt/preferences.d/virtiofsd-peer-trixie
PACKAGES="virtiofsd libc6 libcap-ng0 libseccomp2 libgcc-s1"

log() { echo "install-virtiofsd: $*" >&2; }

installed_ok() {
    [ -x "$WRAPPER" ] && "$WRAPPER" --version 2>/dev/null | grep -Eq '^virtiofsd 1\.13\.'
}

if installed_ok; then
    echo "$WRAPPER"
    exit 0
fi

# Both files are ours: (re)write them, so an older pin never lingers.
log "trixie apt source: $SOURCES"
cat > "$SOURCES" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
log "pinning trixie to priority 1: $PREFS"
cat > "$PREFS" <<'PIN'
# Added by virtiofsd-java scripts/peer/install-virtiofsd.sh: trixie is only a
# source for apt-get download of the peer daemon; never install from it.
Package: *
Pin: release n=trixie
Pin-Priority: 1
PIN

has_trixie_candidate() {
    apt-cache madison virtiofsd 2>/dev/null | grep -q ' 1\.13\.'
}
if ! has_trixie_candidate; then
    log "apt-get update"
    apt-get update -qq >&2
fi
has_trixie_candidate || { log "no virtiofsd 1.13 known to apt after update"; exit 1; }

work="$DIR/.download"
rm -rf "$work"
mkdir -p "$work"
chmod 0777 "$work"   # apt drops to user _apt for downloads
specs=""
for p in $PACKAGES; do specs="$specs $p/trixie"; done
log "downloading$specs"
(cd "$work" && apt-get download -q $specs >&2)

rm -rf "$ROOT.new"
mkdir -p "$ROOT.new"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$ROOT.new"; done

# Locate what the wrapper needs rather than trusting one layout.
libdir="usr/lib/x86_64-linux-gnu"
[ -e "$ROOT.new/$libdir/ld-linux-x86-64.so.2" ] || libdir="lib/x86_64-linux-gnu"
[ -e "$ROOT.new/$libdir/ld-linux-x86-64.so.2" ] || { log "ld-linux-x86-64.so.2 not found in trixie libc6"; exit 1; }
bin="usr/libexec/virtiofsd"
[ -x "$ROOT.new/$bin" ] || bin="usr/bin/virtiofsd"
[ -x "$ROOT.new/$bin" ] || { log "virtiofsd binary not found in the package"; exit 1; }

rm -rf "$ROOT"
mv "$ROOT.new" "$ROOT"
rm -rf "$work"

cat > "$WRAPPER.tmp" <<WRAP
#!/bin/sh
# Rust virtiofsd from Debian trixie with trixie's own glibc (see scripts/peer/install-virtiofsd.sh).
exec "$ROOT/$libdir/ld-linux-x86-64.so.2" --library-path "$ROOT/$libdir" "$ROOT/$bin" "\$@"
WRAP
chmod 0755 "$WRAPPER.tmp"
mv "$WRAPPER.tmp" "$WRAPPER"

version="$("$WRAPPER" --version 2>&1 || true)"
case "$version" in
    "virtiofsd 1.13."*) log "installed $version" ;;
    *) log "unexpected version output: $version"; exit 1 ;;
esac
echo "$WRAPPER"
