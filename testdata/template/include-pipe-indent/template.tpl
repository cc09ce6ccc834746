{{ define "x" }}a: 1
b: 2{{ end }}k:
{{ include "x" . | indent 2 }}