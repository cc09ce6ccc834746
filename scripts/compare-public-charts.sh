#!/usr/bin/env bash
# Renders public charts with helm and helmfire and reports which are byte-identical.
# Usage: scripts/compare-public-charts.sh CHARTS_DIR [CHART...]
#   CHARTS_DIR: a directory of chart directories, e.g. a checkout of github:bitnami/charts at
#   bitnami/ (exported with `git archive`). Each chart's dependencies that live in CHARTS_DIR are
#   vendored into a copy's charts/ (no network); HELMFIRE_DEPS_DIR names a second directory of
#   charts to vendor from (e.g. one holding every fetched repository's charts, for dependencies
#   that live in another repository). Lines that differ between two helm runs
#   (random passwords, generated certificates) are ignored. Nothing here is committed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src=$1; shift
helm=${HELMFIRE_HELM:-$(command -v helm || echo /root/.cache/helmfire/oracles/kubectl-v34-2.2.2/bin/helm)}
[ -x "$helm" ] || { echo "helm not found: run scripts/install-oracles.sh" >&2; exit 1; }
ours=${HELMFIRE_BIN:-$root/target/debug/helmfire}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
charts=("$@")
[ ${#charts[@]} -eq 0 ] && charts=($(ls "$src"))
same=0; differ=0; both_fail=0; total=0
deps=${HELMFIRE_DEPS_DIR:-$src}
# The directory a dependency is vendored from: the charts' own snapshot first.
dep_dir() { if [ -d "$src/$1" ]; then echo "$src/$1"; elif [ -d "$deps/$1" ]; then echo "$deps/$1"; fi; }
# Names under `dependencies:` (Chart.yaml, or requirements.yaml for apiVersion v1 charts); other
# `name:` entries (maintainers) are harmless since no chart directory carries their name.
dep_names() { cat "$1/Chart.yaml" "$1/requirements.yaml" 2>/dev/null | grep -E '^\s*-?\s*name:' | grep -v '^name:' | sed -E 's/.*name:\s*//; s/["'"'"']//g; s/\s+$//'; }
for c in "${charts[@]}"; do
  [ -f "$src/$c/Chart.yaml" ] || continue
  total=$((total+1))
  rm -rf "$work/$c"; cp -r "$src/$c" "$work/$c"
  # Vendor dependencies (one level, plus their own) from the same snapshot.
  for dep in $(dep_names "$src/$c"); do
    d=$(dep_dir "$dep")
    if [ -n "$d" ] && [ "$dep" != "$c" ] && [ ! -e "$work/$c/charts/$dep" ]; then
      mkdir -p "$work/$c/charts"; cp -rL "$d" "$work/$c/charts/$dep"
      for sub in $(dep_names "$d"); do
        sd=$(dep_dir "$sub")
        if [ -n "$sd" ] && [ "$sub" != "$dep" ] && [ ! -e "$work/$c/charts/$dep/charts/$sub" ]; then
          mkdir -p "$work/$c/charts/$dep/charts"; cp -rL "$sd" "$work/$c/charts/$dep/charts/$sub"
        fi
      done
    fi
  done
  "$helm" template rel "$work/$c" >"$work/h1" 2>"$work/h1e"; hs=$?
  "$helm" template rel "$work/$c" >"$work/h2" 2>/dev/null
  "$ours" chart template rel "$work/$c" >"$work/o" 2>"$work/oe"; os=$?
  if [ $hs -ne 0 ] || [ $os -ne 0 ]; then
    he=$(grep -v '^level=' "$work/h1e" | head -1); oe=$(head -1 "$work/oe")
    if [ $hs -ne 0 ] && [ $os -ne 0 ] && [ "$he" = "$oe" ]; then
      both_fail=$((both_fail+1)); echo "SAME-ERROR $c"
    else
      differ=$((differ+1)); echo "DIFF $c: helm exit $hs ($he) / helmfire exit $os ($oe)"
    fi
    continue
  fi
  if python3 - "$work/h1" "$work/h2" "$work/o" <<'PY'
import sys
a, b, o = (open(p, encoding="utf-8", errors="replace").read().split("\n") for p in sys.argv[1:])
if len(a) != len(o) or len(a) != len(b):
    sys.exit(1)
sys.exit(0 if all(x == z or x != y for x, y, z in zip(a, b, o)) else 1)
PY
  then same=$((same+1)); echo "SAME $c"
  else differ=$((differ+1)); echo "DIFF $c: $(diff "$work/h1" "$work/o" | head -3 | tr '\n' ' ' | cut -c1-200)"
  fi
done
echo "total $total: identical $same, same error $both_fail, different $differ"
