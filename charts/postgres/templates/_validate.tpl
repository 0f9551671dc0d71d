{{/*
Cross-field rules the JSON schema cannot express; each message names the keys to change.
Usage:
  {{- include "postgres.validate" (dict "context" $) -}}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "postgres.validate" -}}
{{- $root := .context -}}
{{- if and (not $root.Values.image.tag) (not $root.Values.image.digest) -}}
{{- fail "postgres: set `image.tag` or `image.digest`; both are empty" -}}
{{- end -}}
{{- if eq $root.Values.persistence.accessMode "ReadOnlyMany" -}}
{{- fail "postgres: `persistence.accessMode` is ReadOnlyMany, but PostgreSQL writes to its data volume: use ReadWriteOnce (or ReadWriteOncePod)" -}}
{{- end -}}
{{- if and (not (kindIs "invalid" $root.Values.service.nodePort)) (ne $root.Values.service.type "NodePort") -}}
{{- fail (printf "postgres: `service.nodePort` is set but `service.type` is %s; set `service.type` to NodePort or remove `service.nodePort`" $root.Values.service.type) -}}
{{- end -}}
{{- if and $root.Values.auth.existingSecret (not (tpl $root.Values.auth.existingSecret $root)) -}}
{{- fail "postgres: `auth.existingSecret` renders to an empty name; fix the template expression or leave it empty to generate a Secret" -}}
{{- end -}}
{{- if eq $root.Values.auth.username "" -}}
{{- fail "postgres: `auth.username` must not be empty" -}}
{{- end -}}
{{- end -}}
