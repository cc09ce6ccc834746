#!/usr/bin/env bash
# The torture suite (crates/helmfire-cli/tests/it/torture.rs): helmfire killed at random
# points (SIGKILL/SIGTERM/SIGINT across install, upgrade, apply --force, hooks, rollback and
# uninstall) and rerun; fault-injected convergence at 5%, 20% and 40% with several seeds;
# concurrent applies; the sandbox killed and restarted mid-apply. Prints the figures and
# writes them to RELIABILITY.md.
#
#   scripts/torture.sh                 the CI mode (what `cargo test` runs, a couple of minutes)
#   scripts/torture.sh --soak          the long mode, by hand (about ten minutes on two cores)
#   scripts/torture.sh --seed N        replay the kill points of a failed run
#   scripts/torture.sh --trials N      this many kill trials
set -euo pipefail
cd "$(dirname "$0")/.."

mode=ci
while (($#)); do
  case "$1" in
    --soak) mode=soak ;;
    --seed) export HELMFIRE_TORTURE_SEED="$2"; shift ;;
    --trials) export HELMFIRE_TORTURE_TRIALS="$2"; shift ;;
    *) echo "usage: scripts/torture.sh [--soak] [--seed N] [--trials N]" >&2; exit 2 ;;
  esac
  shift
done

report=$(mktemp)
trap 'rm -f "$report"' EXIT
started=$(date +%s)
HELMFIRE_TORTURE=$mode HELMFIRE_TORTURE_REPORT=$report \
  cargo test --locked -p helmfire-cli --test it torture:: -- --nocapture --test-threads=1
took=$(( $(date +%s) - started ))

{
  cat <<HEADER
# Reliability

What the torture suite (\`crates/helmfire-cli/tests/it/torture.rs\`) found on the last recorded
run. After every disturbance the next run must leave each release deployed or cleanly failed,
its history contiguous, at most one revision deployed (exactly one when the latest is), no
record pending and no Lease held. CI runs the short mode with every \`cargo test\`; the long
mode is run by hand:

    scripts/torture.sh            # CI mode
    scripts/torture.sh --soak     # long mode; --seed N replays a run's kill points

"Pending left (item 1)" counts \`pending-upgrade\` records left by a killed \`apply --force\`
that the next \`apply\` does not see (issue 17, item 1, being fixed separately). The suite
tolerates them only while \`helmfire diff\` does not report them either; once it does, any
pending record left fails the suite.

Last run: **$mode mode**, $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD), ${took}s wall on $(nproc) cores.

HEADER
  cat "$report"
} > RELIABILITY.md
echo "wrote RELIABILITY.md"
