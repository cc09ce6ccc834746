#!/usr/bin/env bash
# Chart sources benchmark (BENCHMARKS.md, "Chart sources"): 50 releases over 10 HTTP
# repositories and 2 OCI registries served on loopback by real tools, helmfire cold and warm,
# and helm pulling the same charts. PROFILE=dev runs it without a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(scripts/install-oracles.sh)
export HELMFIRE_HELM="$bin/helm" PATH="$bin:$PATH"
if [ ! -x /usr/bin/docker-registry ]; then
  echo "docker-registry is missing: apt-get install -y docker-registry (scripts/test.sh does it)" >&2
  exit 1
fi
cargo test -p helmfire-cli --profile "${PROFILE:-dist}" --test it sources_bench -- --ignored --nocapture 2>&1 |
  grep -E '^(setup|helmfire|in-process|index|helm pull)|panicked|FAILED|test result'
