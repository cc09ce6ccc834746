#!/usr/bin/env bash
# Reads real-world helmfiles (the repositories in scripts/helmfile-corpus.txt, fetched at run time,
# never committed) and helmfile's own no-network snapshot inputs with both helmfile v0.166.0 and
# helmfire, and reports how many (file, environment) pairs read identically and which keys
# helmfire refused, and, where the lists agree, whether the values of every release do too.
# Offline, point HELMFIRE_CORPUS_MIRROR at bare clones named OWNER+NAME/repo.
# Usage: scripts/compare-helmfiles.sh [WORK_DIR]   (default: target/helmfile-corpus)
set -euo pipefail
cd "$(dirname "$0")/.."

work=${1:-target/helmfile-corpus}
python3 -c 'import yaml' 2>/dev/null || { echo "compare-helmfiles: PyYAML is required (apt-get install python3-yaml)" >&2; exit 1; }
bin=$(scripts/install-helmfile.sh)
cargo build --release --quiet -p helmfire-cli
exec python3 scripts/compare-helmfiles.py \
  --helmfire "$PWD/target/release/helmfire" \
  --helmfile "$bin/helmfile" --helm "$bin/helm" \
  --work "$work"
