{{/* Cross-field rules the JSON schema cannot express; each message names the keys to change. */}}
{{- define "postgres.validate" -}}
{{- if and (not .Values.image.tag) (not .Values.image.digest) -}}
{{- fail "postgres: set `image.tag` or `image.digest`; both are empty" -}}
{{- end -}}
{{- if eq .Values.persistence.accessMode "ReadOnlyMany" -}}
{{- fail "postgres: `persistence.accessMode` is ReadOnlyMany, but PostgreSQL writes to its data volume: use ReadWriteOnce (or ReadWriteOncePod)" -}}
{{- end -}}
{{- if and (not (kindIs "invalid" .Values.service.nodePort)) (ne .Values.service.type "NodePort") -}}
{{- fail (printf "postgres: `service.nodePort` is set but `service.type` is %s; set `service.type` to NodePort or remove `service.nodePort`" .Values.service.type) -}}
{{- end -}}
{{- if and .Values.auth.existingSecret (not (tpl .Values.auth.existingSecret .)) -}}
{{- fail "postgres: `auth.existingSecret` renders to an empty name; fix the template expression or leave it empty to generate a Secret" -}}
{{- end -}}
{{- if eq .Values.auth.username "" -}}
{{- fail "postgres: `auth.username` must not be empty" -}}
{{- end -}}
{{- end -}}
