#!/usr/bin/env bash
# Writes scripts/dist-symbol-order.txt, the order in which scripts/build-dist.sh asks the linker
# (lld's --symbol-ordering-file) to lay out the release binary's functions: hottest first, by
# perf samples of `helmfire chart template` over the repository's own test charts.
#
# Why: a chart render is a 3-6 ms process whose hot code is spread over 17 MB of text. Laid out
# together, it takes fewer page faults and TLB misses to run, which matters most when another
# process (helm, in the benchmark) has just cooled the caches (BENCHMARKS.md, "Rendering round 2").
#
# The names are mangled with their crate hashes, which stay the same while a crate's metadata
# does (version, dependencies, flags, rustc); a name that no longer exists is skipped by the
# linker, so a stale file costs speed, never correctness. Regenerate after upgrading rustc or
# dependencies, or after large changes to the render path:
#   scripts/build-dist.sh && scripts/gen-symbol-order.sh
# Needs perf. HELMFIRE_BIN overrides the binary profiled; RUNS (default 5) repeats the charts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${HELMFIRE_BIN:-$root/target/x86_64-unknown-linux-gnu/dist/helmfire}
[ -x "$bin" ] || { echo "no binary at $bin: run scripts/build-dist.sh first" >&2; exit 1; }
command -v perf >/dev/null || { echo "perf is needed (apt-get install linux-perf)" >&2; exit 1; }
charts=()
for dir in "$root"/testdata/charts/* "$root"/testdata/charts-engine/* "$root"/testdata/bench/*; do
  [ -f "$dir/Chart.yaml" ] && charts+=("$dir")
done
data=$(mktemp)
trap 'rm -f "$data" "$data.old"' EXIT
# Charts that fail on purpose (template errors, bad values) still run the code before the error.
perf record -q -F 30000 -o "$data" -- bash -c '
  bin=$1; runs=$2; shift 2
  for _ in $(seq "$runs"); do
    for chart in "$@"; do "$bin" chart template rel "$chart" >/dev/null 2>&1 || true; done
  done' _ "$bin" "${RUNS:-5}" "${charts[@]}" 2>/dev/null
comm=$(basename "$bin" | cut -c1-15)
perf report -i "$data" --no-demangle --comm "$comm" --sort sym --stdio 2>/dev/null |
  sed -nE 's/^ +[0-9.]+% +\[\.\] +(.*[^ ]) *$/\1/p' >"$root/scripts/dist-symbol-order.txt"
echo "scripts/dist-symbol-order.txt: $(wc -l <"$root/scripts/dist-symbol-order.txt") functions from ${#charts[@]} charts"
