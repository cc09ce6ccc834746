{{- range $name := list "pod" "svc" }}{{ $m := merge (index $.Values "policyExclude" "host-path") (index $.Values "policyExclude" $name) }}
{{ $name }}: {{ toJson $m }}{{ end }}