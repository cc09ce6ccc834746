#!/usr/bin/env bash
# Times `helmfire lint` and `helmfire graph` on a generated 5,000-release state file and reports
# wall time and peak memory (targets: under 1 s and under 200 MB each).
# usage: scripts/bench-state.sh [RELEASES]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-5000}
bin=$PWD/$(scripts/build-dist.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 scripts/gen-state.py "$count" 42 "$work/helmfire.yaml"
echo "state file: $count releases, $(wc -c <"$work/helmfire.yaml") bytes"
for command in lint "graph --output json" "list --output json"; do
  best=999999
  for _ in 1 2 3 4 5; do
    start=$(date +%s%N)
    "$bin" -q -f "$work/helmfire.yaml" -e bench $command >/dev/null
    elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
    (( elapsed < best )) && best=$elapsed
  done
  peak=$( { /usr/bin/time -f '%M' "$bin" -q -f "$work/helmfire.yaml" -e bench $command >/dev/null; } 2>&1 | tail -n1)
  printf '%-22s best of 5: %5d ms   peak RSS: %6.1f MB\n' "helmfire $command" "$best" "$(echo "$peak / 1024" | bc -l)"
done
