{{- define "labels" -}}
team: {{ .team }}
managed-by: helmfile
{{- end -}}
