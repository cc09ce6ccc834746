x:
{{ .Values.multiline | indent 2 }}