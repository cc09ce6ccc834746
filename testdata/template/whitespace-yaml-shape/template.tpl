apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cm
  labels:
    {{- range $k, $v := .Values.map }}
    {{ $k }}: {{ $v | quote }}
    {{- end }}
data:
  {{- if .Values.t }}
  enabled: "true"
  {{- end }}
