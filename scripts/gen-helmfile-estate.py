#!/usr/bin/env python3
"""Writes a helmfile.d estate for benchmarks: TEAMS state files of RELEASES_PER_TEAM releases
each (300 by default), sharing a base with two environments whose values are .gotmpl files,
release templates with `inherit`, `.gotmpl` release values, labels, needs, and a `range` loop.

usage: gen-helmfile-estate.py DIR [TEAMS] [RELEASES_PER_TEAM]
"""

import sys
from pathlib import Path


def main():
    out = Path(sys.argv[1])
    teams = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    per_team = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    for sub in ("helmfile.d", "bases", "environments", "values", "charts/app/templates"):
        (out / sub).mkdir(parents=True, exist_ok=True)

    (out / "charts/app/Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.1.0\n")
    (out / "charts/app/values.yaml").write_text("replicas: 1\nimage: {repository: example/app, tag: latest}\n")
    (out / "charts/app/templates/deployment.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        "data:\n  replicas: {{ .Values.replicas | quote }}\n"
    )
    # Paths in a base resolve against the helmfile that includes it (helmfile.d/).
    (out / "bases/environments.yaml").write_text(
        "environments:\n"
        "  default:\n    values:\n    - ../environments/common.yaml\n    - ../environments/default.yaml.gotmpl\n"
        "  prod:\n    values:\n    - ../environments/common.yaml\n    - ../environments/prod.yaml.gotmpl\n"
        "    kubeContext: prod\n"
    )
    (out / "environments/common.yaml").write_text(
        "domain: example.com\nimageTag: '1.0.0'\nmonitoring: {enabled: true}\n"
    )
    for name, replicas in (("default", 1), ("prod", 3)):
        (out / f"environments/{name}.yaml.gotmpl").write_text(
            f"replicas: {replicas}\n"
            "cluster: {{ .Environment.Name }}-cluster\n"
            "{{- if eq .Environment.Name \"prod\" }}\nresources: {cpu: '2', memory: 4Gi}\n"
            "{{- else }}\nresources: {cpu: 100m, memory: 128Mi}\n{{- end }}\n"
        )
    (out / "values/service.yaml.gotmpl").write_text(
        "fullname: {{ .Release.Name }}\n"
        "namespace: {{ .Release.Namespace }}\n"
        "host: {{ .Release.Name }}.{{ .Environment.Name }}.{{ .Values.domain }}\n"
        "resources:\n{{ toYaml .Values.resources | indent 2 }}\n"
        "labels: {{ .Release.Labels | toJson }}\n"
    )
    for team in range(teams):
        name = f"team-{team:02d}"
        (out / f"helmfile.d/{team:02d}-{name}.yaml.gotmpl").write_text(
            "bases:\n- ../bases/environments.yaml\n---\n"
            "helmDefaults:\n  wait: true\n  timeout: 600\n  historyMax: 5\n"
            "templates:\n"
            "  service:\n"
            f"    namespace: {name}\n"
            "    chart: ../charts/app\n"
            f"    labels: {{team: {name}, tier: backend}}\n"
            "    values:\n    - ../values/service.yaml.gotmpl\n"
            "releases:\n"
            f"{{{{- range $i := until {per_team} }}}}\n"
            f"- name: {name}-svc-{{{{ $i }}}}\n"
            "  inherit:\n  - template: service\n"
            "  values:\n"
            "  - replicas: {{ $.Values.replicas }}\n"
            "    image: {tag: \"{{ $.Values.imageTag }}\"}\n"
            "    cluster: {{ $.Values.cluster }}\n"
            "  {{- if gt $i 0 }}\n"
            f"  needs: [{name}/{name}-svc-0]\n"
            "  {{- end }}\n"
            "  condition: monitoring.enabled\n"
            "{{- end }}\n"
        )


if __name__ == "__main__":
    main()
