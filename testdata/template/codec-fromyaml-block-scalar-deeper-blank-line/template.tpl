{{- $cases := list "a: |\n   \n  x\n" "- |\n   \n  x\n" "- a: |\n     \n    x\n" "b:\n  a: |\n      \n    x: 1\n" "a: >-\n    \n   x\n" "a:\n- |\n    \n   x\n" "a:\n  - !!str |\n     \n    x\n" "a: &x |\n   \n  x\n" "- x\n- |\n   \n  y\n" "a:\n  b: 1\n  c:\n  - |\n     \n    x\n" "|\n   \n  x\n" "--- |\n   \n  x\n" "--- >-\n    \n   x: 1\n" }}
{{- range $cases }}
{{ fromYaml . | toJson }}
{{ fromYamlArray . | toJson }}
{{- end }}