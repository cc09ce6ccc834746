{{ define "x" }}a: 1
b: 2{{ end }}k:{{ include "x" . | nindent 2 }}