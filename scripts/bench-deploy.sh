#!/usr/bin/env bash
# Whole-state deploy against the sandbox, helmfire vs the helm-based way peers do it, in one run:
#   apply from empty (wait off): `helmfire apply` vs `helm upgrade --install`, 8 at a time
#   diff with nothing changed:   `helmfire diff` vs `helm template` + `helm get manifest` + diff
#                                per release, 8 at a time
# on a generated state of RELEASES (default 100) releases of a ten-object chart with a needs DAG;
# then `helmfire diff` on LARGE (default 1000) releases: wall time and peak memory.
# Each side gets its own sandbox process (`helmfire sandbox`, controller delay 100ms).
# usage: scripts/bench-deploy.sh [RELEASES] [LARGE]   (numbers in BENCHMARKS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-100}
large=${2:-1000}
# HELMFIRE_BIN: use this binary instead of building a release one (to try the script quickly).
bin=${HELMFIRE_BIN:-}
if [[ -z $bin ]]; then
  bin=$PWD/$(scripts/build-dist.sh)
fi
helm=${HELMFIRE_HELM:-$(command -v helm || echo "$(bash scripts/install-oracles.sh)/helm")}
chart=$PWD/testdata/charts/ten-objects
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start_sandbox NAME: a sandbox in the background, its kubeconfig in $work/NAME.kubeconfig
start_sandbox() {
  "$bin" sandbox --kubeconfig-out "$work/$1.kubeconfig" --controller-delay 100ms >"$work/$1.url" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 100); do [[ -s "$work/$1.url" ]] && return; sleep 0.05; done
  echo "sandbox $1 did not start" >&2; exit 1
}
now_ms() { date +%s%3N; }
ratio() { echo "scale=1; $1 / $2" | bc -l; }

export HOME=$work/home HELM_CACHE_HOME=$work/home/cache HELM_CONFIG_HOME=$work/home/config HELM_DATA_HOME=$work/home/data
mkdir -p "$HOME"
unset HELM_DRIVER
python3 scripts/gen-deploy-state.py "$count" 7 "$chart" "$work/state.yaml" "$work/helm-args.txt"
echo "state: $count releases of testdata/charts/ten-objects ($(grep -c needs "$work/state.yaml") with needs)"

# --- apply from empty -------------------------------------------------------------------------
start_sandbox helm
start_sandbox helmfire
start=$(now_ms)
KUBECONFIG=$work/helm.kubeconfig xargs -P 8 -L 1 "$helm" upgrade --install <"$work/helm-args.txt" >/dev/null
helm_apply=$(( $(now_ms) - start ))
start=$(now_ms)
"$bin" -q -f "$work/state.yaml" --kubeconfig "$work/helmfire.kubeconfig" apply >/dev/null 2>"$work/apply.err" \
  || { cat "$work/apply.err"; exit 1; }
helmfire_apply=$(( $(now_ms) - start ))
printf 'apply %d releases from empty:  helm upgrade --install x8: %6d ms   helmfire apply: %6d ms   %sx faster\n' \
  "$count" "$helm_apply" "$helmfire_apply" "$(ratio "$helm_apply" "$helmfire_apply")"

# --- diff with nothing changed ------------------------------------------------------------------
cat >"$work/helm-diff.sh" <<EOF
#!/usr/bin/env bash
# helm-diff's way for one release (args: NAME CHART -n NAMESPACE FLAGS...): render, fetch the
# deployed manifest, compare.
set -euo pipefail
"$helm" template "\$@" >"$work/diff.\$1.desired"
"$helm" get manifest "\$1" -n "\$4" >"$work/diff.\$1.deployed"
diff -u "$work/diff.\$1.deployed" "$work/diff.\$1.desired" >/dev/null || true
EOF
chmod +x "$work/helm-diff.sh"
start=$(now_ms)
KUBECONFIG=$work/helm.kubeconfig xargs -P 8 -L 1 "$work/helm-diff.sh" <"$work/helm-args.txt"
helm_diff=$(( $(now_ms) - start ))
best=999999
for _ in 1 2 3; do
  start=$(now_ms)
  code=0
  "$bin" -q -f "$work/state.yaml" --kubeconfig "$work/helmfire.kubeconfig" diff --detailed-exitcode >"$work/diff.out" || code=$?
  elapsed=$(( $(now_ms) - start ))
  [[ $code == 0 ]] || { echo "helmfire diff found changes after apply (exit $code):"; tail -5 "$work/diff.out"; exit 1; }
  (( elapsed < best )) && best=$elapsed
done
printf 'diff %d releases, no changes: helm template+get manifest x8: %6d ms   helmfire diff (best of 3): %6d ms   %sx faster\n' \
  "$count" "$helm_diff" "$best" "$(ratio "$helm_diff" "$best")"

# --- 1,000 releases -------------------------------------------------------------------------------
python3 scripts/gen-deploy-state.py "$large" 11 "$chart" "$work/large.yaml"
start_sandbox large
start=$(now_ms)
"$bin" -q -f "$work/large.yaml" --kubeconfig "$work/large.kubeconfig" apply >/dev/null 2>"$work/apply.err" \
  || { cat "$work/apply.err"; exit 1; }
large_apply=$(( $(now_ms) - start ))
start=$(now_ms)
peak=$( { /usr/bin/time -f '%M' "$bin" -q -f "$work/large.yaml" --kubeconfig "$work/large.kubeconfig" diff --detailed-exitcode >/dev/null; } 2>&1 | tail -n1)
large_diff=$(( $(now_ms) - start ))
printf 'apply %d releases from empty: %6d ms\n' "$large" "$large_apply"
printf 'diff %d releases, no changes: %6d ms   peak RSS: %.1f MB\n' "$large" "$large_diff" "$(echo "$peak / 1024" | bc -l)"
