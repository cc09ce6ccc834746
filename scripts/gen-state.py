#!/usr/bin/env python3
"""Writes a large synthetic helmfire state file for benchmarks.

usage: gen-state.py RELEASES SEED OUT.yaml

Releases get random `needs` on earlier releases (so the graph is a DAG), labels, inline values,
`set` entries and an expression, spread over namespaces and two repositories.
"""
import random
import sys

count, seed, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = random.Random(seed)
lines = [
    "environments:",
    "  bench:",
    "    values:",
    "      - replicas: 2",
    "        domain: bench.example.com",
    "repositories:",
    "  - name: stable",
    "    url: https://charts.example.com/stable",
    "  - name: registry",
    "    url: oci://registry.example.com/charts",
    "defaults:",
    "  wait: true",
    "  timeout: 5m",
    "  labels:",
    "    owner: bench",
    "templates:",
    "  service:",
    "    chart: stable/service",
    "    version: ^1.2.0",
    "    labels:",
    "      kind: service",
    "releases:",
]
for i in range(count):
    namespace = f"team-{i % 50}"
    lines += [
        f"  - name: release-{i}",
        f"    namespace: {namespace}",
        "    inherit: [service]",
        f"    labels: {{tier: tier-{i % 7}, shard: s{i % 13}}}",
        "    values:",
        f"      - replicas: {rng.randint(1, 5)}",
        "        image: {repository: ghcr.io/example/app, tag: \"1.0." + str(i) + "\"}",
        "    set:",
        "      ingress.host: ${{ release.name }}.${{ environment.values.domain }}",
    ]
    if i > 0:
        needs = sorted({rng.randrange(max(0, i - 200), i) for _ in range(rng.randint(0, 3))})
        if needs:
            lines.append("    needs: [" + ", ".join(f"team-{n % 50}/release-{n}" for n in needs) + "]")
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
