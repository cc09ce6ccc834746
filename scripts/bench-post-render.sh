#!/usr/bin/env bash
# Post-rendering, helm against helmfire in the same run, one whole process per render, on the
# 100-object chart of crates/helmfire/benches/post_render.rs (25 Deployments, Services, ConfigMaps,
# ServiceAccounts):
#   plain           `helm template`                            vs `helmfire chart template`
#   plugin `cat`    both with `--post-renderer cat` (a postrenderer/v1 plugin running `cat`)
#   plain (state)   `helmfire template` of a state file with the release, no post-renderers (the
#                   baseline of the rows below; helm's column repeats plain `helm template`)
#   patch 1 object  helm with a post-renderer plugin running `kubectl kustomize` (what helmfile and
#                   Flux users do) vs helmfire's built-in `patches` (helmfire template, state file)
#   labels on all   the same with `commonLabels` + `commonAnnotations`
# Prints seconds per render (mean of RUNS) and the ratio. The in-process cost of the built-ins
# alone is `cargo bench -p helmfire --bench post_render`.
# Usage: scripts/bench-post-render.sh [RUNS]   (RUNS defaults to 10)
# Build first: scripts/build-dist.sh (HELMFIRE_BIN overrides the binary).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-10}
oracles=/root/.cache/helmfire/oracles/kubectl-v34-2.2.2/bin
helm=${HELMFIRE_HELM:-$(command -v helm || echo $oracles/helm)}
kubectl=${HELMFIRE_KUBECTL:-$(command -v kubectl || echo $oracles/kubectl)}
for tool in "$helm" "$kubectl"; do
  [ -x "$tool" ] || { echo "$tool not found: run scripts/install-oracles.sh" >&2; exit 1; }
done
ours=${HELMFIRE_BIN:-$root/target/x86_64-unknown-linux-gnu/dist/helmfire}
[ -x "$ours" ] || ours=$root/target/dist/helmfire
[ -x "$ours" ] || { echo "no dist binary: scripts/build-dist.sh (or set HELMFIRE_BIN)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HELM_DATA_HOME=$work/data HELM_CONFIG_HOME=$work/config HELM_CACHE_HOME=$work/cache
export HELM_PLUGINS=$work/plugins BENCH_KUBECTL=$kubectl NO_COLOR=1

# The chart the cargo bench renders too: 25 each of Deployment, Service, ConfigMap, ServiceAccount.
cp -r "$root/testdata/charts/hundred-objects" "$work/hundred"

# Two postrenderer/v1 plugins: `cat`, and `kubectl kustomize` over the kustomization that
# $BENCH_KUSTOMIZATION names (the environment reaches a post-renderer through helm and helmfire).
plugin() { # name command
  mkdir -p "$work/plugins/$1"
  printf 'apiVersion: v1\nname: %s\nversion: 0.1.0\ntype: postrenderer/v1\nruntime: subprocess\nruntimeConfig:\n  platformCommand:\n  - command: "%s"\n' \
    "$1" "$2" >"$work/plugins/$1/plugin.yaml"
}
plugin cat cat
plugin kustomize '${HELM_PLUGIN_DIR}/run.sh'
cat >"$work/plugins/kustomize/run.sh" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cat >"$d/res.yaml"
cp "$BENCH_KUSTOMIZATION" "$d/kustomization.yaml"
"$BENCH_KUBECTL" kustomize "$d"
EOF
chmod +x "$work/plugins/kustomize/run.sh"

# The same renderers for kustomize and for helmfire's built-ins.
# (kustomize wants a kind and a name in a strategic merge patch even with a target.)
patch='{target: {kind: Deployment, name: bench-app-7}, patch: "{kind: Deployment, metadata: {name: any}, spec: {template: {spec: {containers: [{name: app, env: [{name: EXTRA, value: \"1\"}]}, {name: sidecar, image: \"busybox:1.36\"}]}}}}"}'
labels='commonLabels: {team: a}
commonAnnotations: {owner: platform}'
printf 'resources: [res.yaml]\npatches:\n- %s\n' "$patch" >"$work/patch.kustomization.yaml"
printf 'resources: [res.yaml]\n%s\n' "$labels" >"$work/labels.kustomization.yaml"
state() { # file [renderer-yaml]
  printf 'releases:\n  - name: bench\n    namespace: default\n    chart: ./hundred\n' >"$work/$1"
  [ $# -lt 2 ] || printf '    postRenderers:\n%s\n' "$2" >>"$work/$1"
}
state plain.helmfire.yaml
state patch.helmfire.yaml "      - patches:
          - $patch"
state labels.helmfire.yaml "      - commonLabels: {team: a}
        commonAnnotations: {owner: platform}"

# Seconds per run (mean of $runs); stdout of the last run in $work/out.
timed() {
  local start
  "$@" >"$work/out" 2>"$work/err" || { echo "failed: $*" >&2; cat "$work/err" >&2; exit 1; }
  start=$EPOCHREALTIME
  for ((i = 0; i < runs; i++)); do "$@" >"$work/out" 2>/dev/null; done
  echo "($EPOCHREALTIME - $start) / $runs" | bc -l
}
cd "$work"
row() { # label helm-seconds helmfire-seconds
  printf '%-15s helm %7.1f ms   helmfire %6.1f ms   helmfire %5.1fx faster\n' "$1" \
    "$(echo "$2 * 1000" | bc -l)" "$(echo "$3 * 1000" | bc -l)" "$(echo "$2 / $3" | bc -l)"
}
echo "100-object chart, mean of $runs runs, one process per render:"
h=$(timed "$helm" template bench ./hundred -n default)
f=$(timed "$ours" chart template bench ./hundred -n default)
row "plain" "$h" "$f"
h_plain=$h
h=$(timed "$helm" template bench ./hundred -n default --post-renderer cat)
cp out helm.cat
f=$(timed "$ours" chart template bench ./hundred -n default --post-renderer cat)
cmp -s out helm.cat || { echo "plugin \`cat\`: helmfire's output differs from helm's" >&2; exit 1; }
row "plugin \`cat\`" "$h" "$f"
f=$(timed "$ours" -f plain.helmfire.yaml template)
row "plain (state)" "$h_plain" "$f"
for case in patch labels; do
  export BENCH_KUSTOMIZATION=$work/$case.kustomization.yaml
  h=$(timed "$helm" template bench ./hundred -n default --post-renderer kustomize)
  f=$(timed "$ours" -f "$case.helmfire.yaml" template)
  [ "$case" = patch ] && label="patch 1 object" || label="labels on all"
  row "$label" "$h" "$f"
done
echo "(plain (state): \`helmfire template\` of a state file with the release, no post-renderers;"
echo " patch 1 object, labels on all: helm runs \`kubectl kustomize\` as its post-renderer,"
echo " helmfire template applies the same patches with its built-ins, no process)"
