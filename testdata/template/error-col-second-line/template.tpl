line1
  {{ .Values.missing.y }}