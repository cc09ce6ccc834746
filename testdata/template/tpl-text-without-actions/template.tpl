[{{ tpl "plain text" . }}] [{{ tpl "" . }}] [{{ tpl "keeps <no value> out" . }}] [{{ tpl "a } b { c" . }}] [{{ tpl "{{ \"x\" }}" . }}]
