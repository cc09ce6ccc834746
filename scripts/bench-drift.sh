#!/usr/bin/env bash
# Drift detection against the sandbox, helmfire vs what peers do, in one run:
#   `helmfire drift` over RELEASES (default 100) releases of a five-object chart, vs
#   `kubectl diff --server-side --force-conflicts` over the same recorded manifests
#   (`helm get manifest`, extracted before timing), 8 at a time;
#   `helmfire diff` with live reading vs `--no-live` on the same releases;
#   `helmfire drift` over LARGE (default 1000) releases: wall time and peak memory.
# A few releases are drifted first (scale, set image, a deleted Service) so both tools report.
# usage: scripts/bench-drift.sh [RELEASES] [LARGE]   (numbers in BENCHMARKS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-100}
large=${2:-1000}
# HELMFIRE_BIN: use this binary instead of building the dist one.
bin=${HELMFIRE_BIN:-}
if [[ -z $bin ]]; then
  bin=$PWD/$(scripts/build-dist.sh)
fi
oracles=$(bash scripts/install-oracles.sh)
helm=${HELMFIRE_HELM:-$oracles/helm}
kubectl=${HELMFIRE_KUBECTL:-$oracles/kubectl}
chart=$PWD/testdata/bench/five-objects
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
export HOME=$work/home HELM_CACHE_HOME=$work/home/cache HELM_CONFIG_HOME=$work/home/config HELM_DATA_HOME=$work/home/data
mkdir -p "$HOME"
unset HELM_DRIVER

start_sandbox() {
  "$bin" sandbox --kubeconfig-out "$work/$1.kubeconfig" --controller-delay 100ms >"$work/$1.url" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 100); do [[ -s "$work/$1.url" ]] && return; sleep 0.05; done
  echo "sandbox $1 did not start" >&2; exit 1
}
now_ms() { date +%s%3N; }
ratio() { echo "scale=1; $1 / $2" | bc -l; }
# state N FILE: N releases of the five-object chart over 20 namespaces.
state() {
  { echo "defaults: {createNamespace: true}"; echo "releases:"
    for i in $(seq 0 $(( $1 - 1 ))); do
      echo "  - {name: svc-$i, namespace: team-$(( i % 20 )), chart: $chart}"
    done; } >"$2"
}
# drift_some KUBECONFIG: what colleagues do to three releases.
drift_some() {
  KUBECONFIG=$1 "$kubectl" -n team-1 scale deploy svc-1 --replicas=5 >/dev/null
  KUBECONFIG=$1 "$kubectl" -n team-2 set image deploy/svc-2 web=evil:latest >/dev/null
  KUBECONFIG=$1 "$kubectl" -n team-3 delete svc svc-3 >/dev/null
}

# --- drift over $count releases vs kubectl diff --server-side -----------------------------------
start_sandbox small
state "$count" "$work/state.yaml"
"$bin" -q -f "$work/state.yaml" --kubeconfig "$work/small.kubeconfig" apply >/dev/null 2>"$work/apply.err" \
  || { cat "$work/apply.err"; exit 1; }
drift_some "$work/small.kubeconfig"
mkdir -p "$work/manifests"
for i in $(seq 0 $(( count - 1 ))); do
  KUBECONFIG=$work/small.kubeconfig "$helm" get manifest "svc-$i" -n "team-$(( i % 20 ))" >"$work/manifests/team-$(( i % 20 ))_svc-$i.yaml"
done
cat >"$work/kubectl-diff.sh" <<EOF
#!/usr/bin/env bash
file=\$1; namespace=\$(basename "\$file" | cut -d_ -f1)
KUBECONFIG=$work/small.kubeconfig "$kubectl" diff --server-side --force-conflicts -n "\$namespace" -f "\$file" >/dev/null 2>&1
code=\$?; [[ \$code -le 1 ]]   # 0 in sync, 1 differences
EOF
chmod +x "$work/kubectl-diff.sh"
start=$(now_ms)
ls "$work"/manifests/*.yaml | xargs -P 8 -n 1 "$work/kubectl-diff.sh"
kubectl_ms=$(( $(now_ms) - start ))
start=$(now_ms)
code=0
"$bin" -f "$work/state.yaml" --kubeconfig "$work/small.kubeconfig" drift >"$work/drift.txt" 2>"$work/drift.err" || code=$?
helmfire_ms=$(( $(now_ms) - start ))
[[ $code -eq 3 ]] || { echo "helmfire drift exited $code, expected 3 (drift)"; cat "$work/drift.err"; exit 1; }
printf 'drift %d releases: kubectl diff --server-side x8: %6d ms   helmfire drift: %6d ms   %sx faster (%s drifted)\n' \
  "$count" "$kubectl_ms" "$helmfire_ms" "$(ratio "$kubectl_ms" "$helmfire_ms")" "$(tail -n1 "$work/drift.txt" | grep -o '[0-9]* of [0-9]*')"

# --- diff with and without live objects ---------------------------------------------------------
best() { # best of 3 runs of a command, in ms
  local best=999999999 t
  for _ in 1 2 3; do t=$(now_ms); "$@" >/dev/null 2>&1 || true; t=$(( $(now_ms) - t )); (( t < best )) && best=$t; done
  echo "$best"
}
no_live=$(best "$bin" -q -f "$work/state.yaml" --kubeconfig "$work/small.kubeconfig" diff --no-live)
live=$(best "$bin" -q -f "$work/state.yaml" --kubeconfig "$work/small.kubeconfig" diff)
printf 'diff %d releases: --no-live: %6d ms   with live objects: %6d ms   %sx the time\n' \
  "$count" "$no_live" "$live" "$(ratio "$live" "$no_live")"

# --- drift over $large releases -------------------------------------------------------------------
start_sandbox large
state "$large" "$work/large.yaml"
"$bin" -q -f "$work/large.yaml" --kubeconfig "$work/large.kubeconfig" apply >/dev/null 2>"$work/apply.err" \
  || { cat "$work/apply.err"; exit 1; }
drift_some "$work/large.kubeconfig"
start=$(now_ms)
code=0
/usr/bin/time -o "$work/large.time" -f '%M' "$bin" -q -f "$work/large.yaml" --kubeconfig "$work/large.kubeconfig" drift \
  >/dev/null 2>"$work/large.err" || code=$?
large_ms=$(( $(now_ms) - start ))
[[ $code -eq 3 ]] || { echo "helmfire drift exited $code, expected 3 (drift)"; cat "$work/large.err"; exit 1; }
peak=$(tail -n1 "$work/large.time")
printf 'drift %d releases (%d objects): %6d ms, peak %d MB\n' "$large" $(( large * 5 )) "$large_ms" $(( peak / 1024 ))
