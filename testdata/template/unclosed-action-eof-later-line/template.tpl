a
{{ if 1 

