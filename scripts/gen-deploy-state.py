#!/usr/bin/env python3
"""Writes a state file of RELEASES releases of a local chart, with a `needs` DAG, for deploy
benchmarks (scripts/bench-deploy.sh), plus the equivalent helm commands.

usage: gen-deploy-state.py [--contexts A,B,...] RELEASES SEED CHART OUT.yaml [HELM-COMMANDS.txt]

Release i lives in namespace team-(i % 20), sets its own replica count and image tag, and needs
0-3 random earlier releases. The optional second output has one `helm upgrade --install` argument
line per release (for xargs), with the same values. With --contexts, release i goes to kube
context i % len(contexts), and its needs may cross contexts.
"""
import random
import sys

args = sys.argv[1:]
contexts = []
if args[:1] == ["--contexts"]:
    contexts = args[1].split(",")
    args = args[2:]
count, seed, chart, out = int(args[0]), int(args[1]), args[2], args[3]
helm_out = args[4] if len(args) > 4 else None
rng = random.Random(seed)
lines = [
    "defaults:",
    "  createNamespace: true",
    "  wait: false",
    "  timeout: 5m",
    "releases:",
]
helm = []
for i in range(count):
    namespace = f"team-{i % 20}"
    replicas = rng.randint(1, 5)
    tag = f"1.0.{i}"
    lines += [
        f"  - name: release-{i}",
        f"    namespace: {namespace}",
        f"    chart: {chart}",
        f"    labels: {{tier: tier-{i % 7}}}",
        *([f"    kubeContext: {contexts[i % len(contexts)]}"] if contexts else []),
        "    values:",
        f"      - replicas: {replicas}",
        f"        image: {{tag: \"{tag}\"}}",
        f"        ingress: {{host: release-{i}.bench.example.com}}",
    ]
    if i > 0:
        needs = sorted({rng.randrange(max(0, i - 50), i) for _ in range(rng.randint(0, 3))})
        if needs:
            lines.append("    needs: [" + ", ".join(f"team-{n % 20}/release-{n}" for n in needs) + "]")
    helm.append(
        f"release-{i} {chart} -n {namespace} --create-namespace --set replicas={replicas} "
        f"--set-string image.tag={tag} --set ingress.host=release-{i}.bench.example.com"
    )
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
if helm_out:
    with open(helm_out, "w") as f:
        f.write("\n".join(helm) + "\n")
