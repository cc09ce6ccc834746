ok
{{ if }}
