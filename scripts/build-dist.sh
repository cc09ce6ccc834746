#!/usr/bin/env bash
# Builds the release artefact, the binary the benchmarks time: the `dist` profile (fat LTO, one
# code generation unit), linked statically at a fixed address on x86_64 Linux.
#
# A static executable starts without the dynamic loader: no libc, libm and libgcc_s to find, map
# and bind. That is 0.4-0.7 ms of a 5 ms chart render on the benchmark machine, once the caches
# are cold (BENCHMARKS.md, "Rendering round 2"). glibc's name-service lookups still work for
# /etc/hosts and DNS, as the static binary carries them; modules named in nsswitch.conf beyond
# those (mdns, systemd-resolved) are loaded from the system's glibc and need its version.
# The functions a render runs most are laid out together, in the order of
# scripts/dist-symbol-order.txt (see scripts/gen-symbol-order.sh): on issue 18's 30 charts,
# right after helm has cooled the caches, the median chart's process runs about 11% faster.
# Elsewhere, and with HELMFIRE_DYNAMIC=1, this is `cargo build --profile dist`.
#
# Output: target/x86_64-unknown-linux-gnu/dist/helmfire (static), or target/dist/helmfire.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] && [ -z "${HELMFIRE_DYNAMIC:-}" ]; then
  # --target keeps these flags off build scripts and proc macros, which must stay dynamic.
  # rustc links with lld on this target; names missing from the binary are skipped. Cargo does
  # not track files named in link arguments: after the order changes, remove the linked binaries
  # so that cargo links them again.
  order=scripts/dist-symbol-order.txt
  for bin in target/x86_64-unknown-linux-gnu/dist/helmfire target/x86_64-unknown-linux-gnu/dist/deps/helmfire-*; do
    if [ -x "$bin" ] && [ ! -d "$bin" ] && [ "$order" -nt "$bin" ]; then rm -f "$bin"; fi
  done
  RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static \
    -C link-arg=-Wl,--symbol-ordering-file=$PWD/$order \
    -C link-arg=-Wl,--no-warn-symbol-ordering" \
    cargo build --locked --profile dist --target x86_64-unknown-linux-gnu -p helmfire-cli
  echo target/x86_64-unknown-linux-gnu/dist/helmfire
else
  cargo build --locked --profile dist -p helmfire-cli
  echo target/dist/helmfire
fi
