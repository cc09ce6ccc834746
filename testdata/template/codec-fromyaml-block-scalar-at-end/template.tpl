{{ list (fromYaml "a: |\n  no final break") (fromYaml "a: |+\n  kept\n\n") (fromYaml "a: |-\n  x\n") (fromYaml "a: |+\n  x") (fromYaml "a: >\n  f\n  g") (fromYaml "a: |\n  x\n") | toJson }}
