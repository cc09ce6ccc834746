#!/usr/bin/env bash
# `helmfire template` over a whole state file: wall time, CPU time and how many cores it kept busy,
# next to `helm template` run once per release, one after another (what a script around helm does).
# Usage: scripts/bench-template-state.sh [RELEASES] [CHART_DIR]
#   RELEASES defaults to 200; CHART_DIR to testdata/bench/template-heavy. The state comes from
#   scripts/gen-deploy-state.py (seed 42): every release sets its own values and needs 0-3 others.
# Build first: scripts/build-dist.sh (HELMFIRE_BIN overrides the binary).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
releases=${1:-200}
chart=$(cd "${2:-$root/testdata/bench/template-heavy}" && pwd)
helm=${HELMFIRE_HELM:-$(command -v helm || echo /root/.cache/helmfire/oracles/kubectl-v34-2.2.2/bin/helm)}
[ -x "$helm" ] || { echo "helm not found: run scripts/install-oracles.sh" >&2; exit 1; }
ours=${HELMFIRE_BIN:-$root/target/x86_64-unknown-linux-gnu/dist/helmfire}
[ -x "$ours" ] || ours=$root/target/dist/helmfire
[ -x "$ours" ] || { echo "no dist binary: scripts/build-dist.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$root/scripts/gen-deploy-state.py" "$releases" 42 "$chart" "$work/helmfire.yaml" "$work/helm.txt"

# helmfire: one process for the whole state; /usr/bin/time reports wall, user and system time.
/usr/bin/time -o "$work/time" -f '%e %U %S %M' "$ours" template -f "$work/helmfire.yaml" >"$work/out" 2>"$work/err" ||
  { cat "$work/err" >&2; exit 1; }
read -r wall user sys rss <"$work/time"
docs=$(grep -c '^kind:' "$work/out" || true)
# helm: one `helm template` per release with the same values, one after another.
start=$EPOCHREALTIME
while read -r name chart_arg rest; do
  # shellcheck disable=SC2086 # the generated argument line is split on purpose
  "$helm" template "$name" "$chart_arg" $rest >/dev/null
done < <(sed 's/ --create-namespace//' "$work/helm.txt")
helm_wall=$(echo "$EPOCHREALTIME - $start" | bc)
printf 'helmfire template, %d releases: %s s wall, %s s user + %s s system, peak %d KiB, %d objects\n' \
  "$releases" "$wall" "$user" "$sys" "$rss" "$docs"
printf 'cores kept busy: %.2f of %d\n' "$(echo "($user + $sys) / $wall" | bc -l)" "$(nproc)"
printf 'helm template, one release at a time: %.2f s wall (%.1fx helmfire)\n' "$helm_wall" \
  "$(echo "$helm_wall / $wall" | bc -l)"
