#!/usr/bin/env bash
# Start-up time and idle RSS of a vhost-user daemon: launch, poll until the socket exists, read
# VmRSS a second later, SIGTERM; medians of N runs. Not a test (timings depend on the machine).
# usage: measure-startup.sh [N] [daemon command...]   (default: 10, this layout's bin/virtiofsd-java)
# e.g.   measure-startup.sh 10 /usr/libexec/virtiofsd      (the peer takes the same two options)
set -euo pipefail
n="${1:-10}"; shift || true
if [ $# -eq 0 ]; then
  set -- "$(cd "$(dirname "$0")/../../.." && pwd)/target/virtiofsd-java/bin/virtiofsd-java"
fi
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
mkdir "$work/shared"
times=(); rss=()
for i in $(seq "$n"); do
  sock="$work/$i.sock"
  t0=$(date +%s%N)
  "$@" --shared-dir "$work/shared" --socket-path "$sock" 2>"$work/err" & pid=$!
  until [ -S "$sock" ]; do
    kill -0 "$pid" 2>/dev/null || { echo "daemon exited: $(cat "$work/err")" >&2; exit 1; }
    sleep 0.002
  done
  t1=$(date +%s%N)
  times+=($(( (t1 - t0) / 1000000 )))
  sleep 1
  rss+=("$(awk '/VmRSS/{print $2}' "/proc/$pid/status")")
  kill -TERM "$pid"; wait "$pid" || true
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "start-up ms: ${times[*]} -> median $(median "${times[@]}")"
echo "RSS kB:      ${rss[*]} -> median $(median "${rss[@]}")"
