{{- define "post-render-yaml.name" -}}{{ .Chart.Name }}{{- end -}}
