{{/* Production pieces of the component pods and the api-server's exposure: placement, extra containers,
PodDisruptionBudgets, the Ingress/HTTPRoute sub-path. */}}

{{/*
priorityClassName and topologySpreadConstraints of a component's pod spec (each only when set). A constraint
without labelSelector gets the component's selector labels.
Usage:
  {{- include "airflow.component.placement" (dict "component" "scheduler" "values" .Values.scheduler "context" $) | nindent 6 }}
Params:
  - component - String - Required. Component name (its selector labels).
  - values - Dict - Required. The component's values block (priorityClassName, topologySpreadConstraints).
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.component.placement" -}}
{{- $root := .context -}}
{{- $c := .values -}}
{{- with $c.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $c.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- $selector := include "airflow.selectorLabels" (dict "component" $.component "context" $root) | fromYaml }}
  {{- range . }}
  {{- $tsc := deepCopy . }}
  {{- if not (hasKey $tsc "labelSelector") }}{{ $_ := set $tsc "labelSelector" (dict "matchLabels" $selector) }}{{ end }}
  - {{- toYaml $tsc | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/*
Extra containers (or init containers) given as a list of Container maps or a string; both run through tpl.
Usage:
  {{- include "airflow.component.extraContainers" (dict "containers" .Values.scheduler.extraContainers "context" $) | nindent 8 }}
Params:
  - containers - List|String - Optional. The containers.
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.component.extraContainers" -}}
{{- with .containers }}
{{- if kindIs "string" . }}
{{- tpl . $.context }}
{{- else }}
{{- tpl (toYaml .) $.context }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
PodDisruptionBudget (policy/v1) of a component, when its podDisruptionBudget.enabled: minAvailable if set, else
maxUnavailable (default 1).
Usage:
  {{ include "airflow.component.pdb" (dict "component" "scheduler" "values" .Values.scheduler "context" $) }}
Params:
  - component - String - Required. Component label and name suffix.
  - values - Dict - Required. The component's values block (enabled, podDisruptionBudget, labels).
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.component.pdb" -}}
{{- $root := .context -}}
{{- $c := .values -}}
{{- $p := $c.podDisruptionBudget -}}
{{- if and $c.enabled $p.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "airflow.componentName" (dict "suffix" .component "context" $root) }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "airflow.labels" (dict "component" .component "labels" $c.labels "context" $root) | nindent 4 }}
spec:
  {{- if not (kindIs "invalid" $p.minAvailable) }}
  minAvailable: {{ $p.minAvailable }}
  {{- else }}
  maxUnavailable: {{ kindIs "invalid" $p.maxUnavailable | ternary 1 $p.maxUnavailable }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "airflow.selectorLabels" (dict "component" .component "context" $root) | nindent 6 }}
{{- end }}
{{- end -}}

{{/*
Sub-path under which the Ingress or the HTTPRoute exposes the api-server ("" for "/" or when neither is enabled).
Usage:
  {{ include "airflow.exposure.path" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.exposure.path" -}}
{{- $v := .context.Values -}}
{{- $path := "" -}}
{{- if and $v.ingress.enabled (ne (toString $v.ingress.path) "/") }}{{ $path = $v.ingress.path }}
{{- else if and $v.httpRoute.enabled (ne (toString $v.httpRoute.path) "/") }}{{ $path = $v.httpRoute.path }}{{ end -}}
{{- trimSuffix "/" (toString $path) -}}
{{- end -}}

{{/*
[api] base_url implied by the Ingress/HTTPRoute sub-path: https://host/path with ingress TLS, http://host/path with
a host, else the path alone; "" when the api-server is served at "/".
Usage:
  {{ include "airflow.exposure.baseUrl" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.exposure.baseUrl" -}}
{{- $v := .context.Values -}}
{{- $path := include "airflow.exposure.path" (dict "context" .context) -}}
{{- if $path -}}
{{- $host := "" -}}
{{- $scheme := "http" -}}
{{- if and $v.ingress.enabled (ne (toString $v.ingress.path) "/") }}
{{- $host = $v.ingress.host }}{{ if $v.ingress.tls.secretName }}{{ $scheme = "https" }}{{ end }}
{{- else if $v.httpRoute.hostnames }}{{ $host = first $v.httpRoute.hostnames }}{{ end -}}
{{- if and $host (not (hasPrefix "*" $host)) }}{{ printf "%s://%s%s" $scheme $host $path }}{{ else }}{{ $path }}{{ end -}}
{{- end -}}
{{- end -}}
