{{/*
Chart name (nameOverride wins) and the helm.sh/chart label value.
Usage:
  {{ include "volumes.name" (dict "context" $) }}
  {{ include "volumes.chart" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "volumes.name" -}}
{{- default .context.Chart.Name .context.Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "volumes.chart" -}}
{{- printf "%s-%s" .context.Chart.Name .context.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Labels of a claim or volume.
Usage:
  {{ include "volumes.labels" (dict "component" "dags" "context" $) }}
Params:
  - component - String - Required. app.kubernetes.io/component value (dags, logs, extra).
  - context - Dict - Required. The root context ($).
*/}}
{{- define "volumes.labels" -}}
{{- $ctx := .context -}}
helm.sh/chart: {{ include "volumes.chart" (dict "context" $ctx) }}
app.kubernetes.io/name: {{ include "volumes.name" (dict "context" $ctx) }}
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/version: {{ $ctx.Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: {{ $ctx.Values.partOf | quote }}
app.kubernetes.io/managed-by: {{ $ctx.Release.Service }}
{{- with $ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
The claims to create, normalised, as JSON: a list of
{key, component, name, size, accessMode, storageClassName (absent = cluster default), annotations, hostPath, pvName}.
`key` is the values path used in error messages (dags, logs, extraClaims[0]).
Usage:
  {{- range $c := fromJsonArray (include "volumes.claims" (dict "context" $)) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "volumes.claims" -}}
{{- $ctx := .context -}}
{{- $raw := list -}}
{{- range $key := list "dags" "logs" -}}
{{- $v := index $ctx.Values $key -}}
{{- if $v.enabled -}}
{{- $raw = append $raw (dict "key" $key "component" $key "spec" $v "default" (printf "%s-%s" $ctx.Release.Name $key)) -}}
{{- else if $v.hostPath.enabled -}}
{{- fail (printf "volumes: `%s.hostPath.enabled` is true but `%s.enabled` is false; enable the claim or set `%s.hostPath.enabled` to false" $key $key $key) -}}
{{- end -}}
{{- end -}}
{{- range $i, $v := $ctx.Values.extraClaims -}}
{{- $raw = append $raw (dict "key" (printf "extraClaims[%d]" $i) "component" "extra" "spec" $v "default" "") -}}
{{- end -}}
{{- $out := list -}}
{{- $seen := dict -}}
{{- $paths := dict -}}
{{- range $raw -}}
{{- $key := .key -}}
{{- $v := .spec -}}
{{- $nameKey := ternary "claimName" "name" (ne .component "extra") -}}
{{- $name := tpl (default .default (get $v $nameKey)) $ctx -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$" $name) -}}
{{- fail (printf "volumes: `%s.%s` is %q, which is not a valid claim name (lower-case letters, digits, '-' and '.', at most 253 characters)" $key $nameKey $name) -}}
{{- end -}}
{{- if hasKey $seen $name -}}
{{- fail (printf "volumes: `%s.%s` and `%s` both name the claim %q; claim names must be unique" $key $nameKey (get $seen $name) $name) -}}
{{- end -}}
{{- $_ := set $seen $name (printf "%s.%s" $key $nameKey) -}}
{{- $hp := default dict $v.hostPath -}}
{{- $c := dict "key" $key "component" .component "name" $name "size" $v.size "accessMode" (default "ReadWriteOnce" $v.accessMode) "annotations" (default dict $v.annotations) "hostPath" $hp -}}
{{- $sc := default "" $v.storageClassName -}}
{{- if eq $sc "-" -}}
{{- $_ := set $c "storageClassName" "" -}}
{{- else if $sc -}}
{{- $_ := set $c "storageClassName" $sc -}}
{{- else if $hp.enabled -}}
{{- $_ := set $c "storageClassName" "" -}}
{{- end -}}
{{- if $hp.enabled -}}
{{- if not $hp.path -}}
{{- fail (printf "volumes: `%s.hostPath.enabled` is true but `%s.hostPath.path` is empty; set it to an absolute directory on the node, e.g. /var/lib/airkube/%s" $key $key .component) -}}
{{- end -}}
{{- if hasKey $paths $hp.path -}}
{{- fail (printf "volumes: `%s.hostPath.path` and `%s.hostPath.path` are both %q; each hostPath volume needs its own directory" $key (get $paths $hp.path) $hp.path) -}}
{{- end -}}
{{- $_ := set $paths $hp.path $key -}}
{{- $_ := set $c "pvName" (printf "%s-%s" $ctx.Release.Namespace $name | trunc 253 | trimSuffix "-" | trimSuffix ".") -}}
{{- end -}}
{{- $out = append $out $c -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
