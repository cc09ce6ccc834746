#!/usr/bin/env bash
# Several clusters in one run: the same RELEASES (default 200) releases of the ten-object chart
# (a needs DAG, scripts/gen-deploy-state.py) applied and diffed
#   - in one sandbox, and
#   - spread over two sandboxes (kube contexts east and west, alternating, needs crossing them),
#     one `helmfire apply` over a merged KUBECONFIG.
# Target: two clusters within 1.3x the time of one. Each sandbox is a `helmfire sandbox`
# process (controller delay 100ms).
# usage: scripts/bench-contexts.sh [RELEASES]   (numbers in BENCHMARKS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-200}
# HELMFIRE_BIN: use this binary instead of building the dist one.
bin=${HELMFIRE_BIN:-}
if [[ -z $bin ]]; then
  bin=$PWD/$(scripts/build-dist.sh)
fi
chart=$PWD/testdata/charts/ten-objects
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
export HOME=$work/home
mkdir -p "$HOME"
unset HELM_DRIVER KUBECONFIG

# start_sandbox NAME: a sandbox in the background, its kubeconfig (context NAME) in $work/NAME.kubeconfig
start_sandbox() {
  "$bin" sandbox --kubeconfig-out "$work/$1.kubeconfig" --context-name "$1" --controller-delay 100ms >"$work/$1.url" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 100); do [[ -s "$work/$1.url" ]] && return; sleep 0.05; done
  echo "sandbox $1 did not start" >&2; exit 1
}
now_ms() { date +%s%3N; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }
# timed KUBECONFIG STATE ARGS...: runs helmfire, prints the milliseconds it took.
timed() {
  local kubeconfig=$1 state=$2; shift 2
  local start code=0
  start=$(now_ms)
  KUBECONFIG=$kubeconfig "$bin" -q -f "$state" "$@" >"$work/out" 2>"$work/err" || code=$?
  [[ $code == 0 ]] || { echo "helmfire $* failed (exit $code):" >&2; tail -20 "$work/err" >&2; exit 1; }
  echo $(( $(now_ms) - start ))
}

python3 scripts/gen-deploy-state.py "$count" 7 "$chart" "$work/one.yaml"
python3 scripts/gen-deploy-state.py --contexts east,west "$count" 7 "$chart" "$work/two.yaml"
start_sandbox one
start_sandbox east
start_sandbox west
two_kubeconfig=$work/east.kubeconfig:$work/west.kubeconfig
echo "state: $count releases of testdata/charts/ten-objects ($(grep -c needs "$work/one.yaml") with needs)"

one_apply=$(timed "$work/one.kubeconfig" "$work/one.yaml" apply)
two_apply=$(timed "$two_kubeconfig" "$work/two.yaml" apply)
printf 'apply %d releases from empty:   one cluster %6d ms   two clusters %6d ms   ratio %s (target <= 1.3)\n' \
  "$count" "$one_apply" "$two_apply" "$(ratio "$two_apply" "$one_apply")"

best() {
  local kubeconfig=$1 state=$2 best=999999 ms
  for _ in 1 2 3; do
    ms=$(timed "$kubeconfig" "$state" diff --detailed-exitcode)
    (( ms < best )) && best=$ms
  done
  echo "$best"
}
one_diff=$(best "$work/one.kubeconfig" "$work/one.yaml")
two_diff=$(best "$two_kubeconfig" "$work/two.yaml")
printf 'diff %d releases, no changes:  one cluster %6d ms   two clusters %6d ms   ratio %s (best of 3)\n' \
  "$count" "$one_diff" "$two_diff" "$(ratio "$two_diff" "$one_diff")"
