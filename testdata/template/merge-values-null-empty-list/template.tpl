{{ toJson (merge (deepCopy .Values.a) .Values.b) }}
{{ toJson (mergeOverwrite (deepCopy .Values.a) .Values.b) }}
{{ toJson (merge (deepCopy .Values.b) .Values.a) }}
{{ toJson (mergeOverwrite (deepCopy .Values.b) .Values.a) }}
{{ toJson (merge (dict) .Values.a .Values.b) }}
{{ toJson (mergeOverwrite (dict) .Values.b .Values.a) }}