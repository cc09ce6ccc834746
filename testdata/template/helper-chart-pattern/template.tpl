{{- define "c.fullname" -}}
{{- printf "%s-%s" .Release.Name "c" | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "c.labels" -}}
app: {{ include "c.fullname" . }}
version: {{ .Values.ver | quote }}
{{- end -}}
metadata:
  name: {{ include "c.fullname" . }}
  labels:
    {{- include "c.labels" . | nindent 4 }}
