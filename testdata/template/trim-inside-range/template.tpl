{{- range .Values.list }}
- {{ . }}
{{- end }}