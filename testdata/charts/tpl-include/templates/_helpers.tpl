{{- define "tplinc.fullname" -}}{{ .Release.Name }}-{{ .Chart.Name }}{{- end -}}
{{- define "tplinc.labels" -}}
app: {{ include "tplinc.fullname" . }}
{{- end -}}
