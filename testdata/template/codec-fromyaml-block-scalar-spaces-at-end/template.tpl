{{- $cases := list "a: |\n  x\n  " "a: |\n  x\n   " "a: |\n  x\n " "a: |+\n  x\n  " "a: |\n  x\n\n  " "a: |-\n  x\n  " "a: |+\n  x\n\n  " "a: >\n  x\n  " "a: |\n  x\n    y\n  " "a: |+\n  x\n   " "a: |\n  " "a: |+\n  " "a: |+\n\n  " "a: |+\n\n\n  " "a: >+\n  " "a:\n  b: |\n    x\n  " "a:\n  b: |\n    x\n     " "a: |\n\n  x\n  " "a: |2\n   x\n   " "a: | # c\n  x\n  " "- a: |\n    x\n    " "a: |\n  |\n  " "k: >+\n  x\n\n   " }}
{{- range $cases }}
{{ fromYaml . | toJson }}
{{- end }}
{{ fromYamlArray "- |\n x\n " | toJson }}