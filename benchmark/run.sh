#!/usr/bin/env bash
# Runs the side-by-side benchmark (Rust virtiofsd 1.13 vs virtiofsd-java) from a clean checkout:
# builds what is missing, installs the peer if missing (needs root), then runs the main class.
#   benchmark/run.sh [--short] [--runs N] [--seconds S] [--warmup S] [--files N] [--out DIR] [--profile] [--no-sandbox]
#                    [--skip rows,inodes,floor,footprint,density,guest] [--density N] [--guest-boots N] ...
#   benchmark/run.sh --counting-cost [REQUESTS_PER_ROUND [ROUNDS]]   (the request counters' cost, no daemon)
# Output: the tables on stdout, benchmark/target/benchmark.md and benchmark/target/benchmark.json.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

peer="${VIRTIOFSD_PEER_DIR:-/opt/virtiofsd-peer}/virtiofsd"
if [ ! -x "$peer" ]; then
  echo "run.sh: Rust virtiofsd not found at $peer: installing it" >&2
  sh scripts/peer/install-virtiofsd.sh >&2
fi

if [ ! -x distribution/target/virtiofsd-java/bin/virtiofsd-java ] || [ ! -f benchmark/target/classpath.txt ] \
   || [ ! -d benchmark/target/classes/dev/virtiofsd/benchmark ]; then
  echo "run.sh: building the distribution and the benchmark (mvn -q -DskipTests install)" >&2
  mvn -B -q -DskipTests install -pl benchmark -am >&2
fi

cp="benchmark/target/classes:$(cat benchmark/target/classpath.txt)"
if [ "${1:-}" = "--counting-cost" ]; then
  # What the per-opcode request counters cost per request (no daemon): [REQUESTS_PER_ROUND [ROUNDS]]
  shift
  exec java -cp "$cp" dev.virtiofsd.fuse.internal.CountingCost "$@"
fi
exec java -Dvirtiofsd.root="$root" -cp "$cp" dev.virtiofsd.benchmark.Benchmark "$@"
