#!/usr/bin/env bash
# Records testdata/template/*/expected.txt (or error.txt) from the real helm v4.1.4.
# Needs helm (scripts/install-oracles.sh). Usage: scripts/record-template-cases.sh
set -euo pipefail
cd "$(dirname "$0")/.."
HELMFIRE_RECORD=1 cargo test -p helmfire-cli --test differential template_cases::cases_match_live_helm -- --nocapture || true
echo "recorded $(ls testdata/template | wc -l) cases; review with git diff testdata/template"
