#!/usr/bin/env bash
# Reading and rendering a generated helmfile.d estate (300 releases by default: 30 state files,
# environments with .gotmpl values, release templates, .gotmpl release values): helmfire against
# helmfile v0.166.0 (scripts/install-helmfile.sh) on the same files, in the same run, best of N,
# wall and CPU time. helmfire's `lint` reads and renders everything (state, environment values,
# release values) and validates it; helmfile's `build` reads and renders the state, `build
# --embed-values` the release values files too. Before timing, both must list the same releases.
# usage: scripts/bench-helmfile.sh [TEAMS] [RELEASES_PER_TEAM] [RUNS]   (defaults: 30 10 5)
set -euo pipefail
cd "$(dirname "$0")/.."
teams=${1:-30}
per_team=${2:-10}
runs=${3:-5}

bin=$(scripts/install-helmfile.sh)
bin=$PWD/$(scripts/build-dist.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 scripts/gen-helmfile-estate.py "$work/estate" "$teams" "$per_team"
home="$work/home"
mkdir -p "$home"
helmfile=("$bin/helmfile" --helm-binary "$bin/helm")
helmfire=("$bin" -q)
export HOME="$home" HELM_CACHE_HOME="$home/c" HELM_CONFIG_HOME="$home/cfg" HELM_DATA_HOME="$home/d" \
  HELMFILE_CACHE_HOME="$home/hc" HELMFILE_UPGRADE_NOTICE_DISABLED=1 HELMFILE_DISABLE_RUNNER_UNIQUE_ID=1

# best of $runs: wall and CPU (user + system, children included) milliseconds, "WALL CPU".
# The CPU time barely moves when other work shares the machine; the wall time does.
best() {
  python3 - "$work/estate" "$runs" "$@" <<'PY'
import resource, subprocess, sys, time
cwd, runs, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
walls, cpus = [], []
for _ in range(runs):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    walls.append((time.perf_counter() - start) * 1000)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpus.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(argv)}\n{done.stderr.decode(errors='replace')}")
print(f"{min(walls):.0f} {min(cpus):.0f}")
PY
}

# Both tools must read the same releases before their times mean anything.
(cd "$work/estate" && "${helmfile[@]}" -e prod list --skip-charts --output json) >"$work/helmfile.json"
(cd "$work/estate" && "${helmfire[@]}" -e prod list -o json) >"$work/helmfire.json"
releases=$(python3 - "$work/helmfile.json" "$work/helmfire.json" <<'PY'
import json, sys
helmfile = [(r["namespace"], r["name"], r["chart"], r["labels"]) for r in json.load(open(sys.argv[1]))]
helmfire = [
    (r["namespace"], r["name"], r["chart"], ",".join(f"{k}:{v}" for k, v in sorted(r["labels"].items())))
    for r in json.load(open(sys.argv[2]))
]
if sorted(helmfile) != sorted(helmfire):
    sys.exit(f"helmfile and helmfire list different releases: {len(helmfile)} vs {len(helmfire)}")
print(len(helmfire))
PY
)
echo "estate: helmfile.d with $teams state files, $releases releases (environment prod); best of $runs"
read -r hf_build hf_build_cpu < <(best "${helmfile[@]}" -e prod build)
read -r hf_embed hf_embed_cpu < <(best "${helmfile[@]}" -e prod build --embed-values)
read -r fire_lint fire_lint_cpu < <(best "${helmfire[@]}" -e prod lint)
read -r fire_list fire_list_cpu < <(best "${helmfire[@]}" -e prod list -o json)
read -r fire_import fire_import_cpu < <(best "${helmfire[@]}" -e prod import)
[[ -n "$hf_build" && -n "$hf_embed" && -n "$fire_lint" && -n "$fire_list" && -n "$fire_import" ]] || exit 1
printf '%-32s %7s %7s\n' "" "wall ms" "cpu ms"
printf '%-32s %7d %7d\n' "helmfile build" "$hf_build" "$hf_build_cpu" \
  "helmfile build --embed-values" "$hf_embed" "$hf_embed_cpu" \
  "helmfire lint" "$fire_lint" "$fire_lint_cpu" \
  "helmfire list -o json" "$fire_list" "$fire_list_cpu" \
  "helmfire import" "$fire_import" "$fire_import_cpu"
ratio() { python3 -c "print(f'{$1 / max($2, 1):.1f}x')"; }
echo "helmfire lint vs helmfile build:                 $(ratio "$hf_build" "$fire_lint") faster wall," \
  "$(ratio "$hf_build_cpu" "$fire_lint_cpu") less CPU (target: 20x)"
echo "helmfire lint vs helmfile build --embed-values:  $(ratio "$hf_embed" "$fire_lint") faster wall," \
  "$(ratio "$hf_embed_cpu" "$fire_lint_cpu") less CPU"
