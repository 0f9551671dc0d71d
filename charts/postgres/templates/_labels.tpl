{{/*
Selector labels (name, instance) and all labels of the chart's objects.
Usage:
  {{ include "postgres.selectorLabels" (dict "context" $) }}
  {{ include "postgres.labels" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "postgres.selectorLabels" -}}
app.kubernetes.io/name: {{ include "postgres.name" (dict "context" .context) }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
{{- end -}}

{{- define "postgres.labels" -}}
{{- $root := .context -}}
helm.sh/chart: {{ include "postgres.chart" (dict "context" $root) }}
{{ include "postgres.selectorLabels" (dict "context" $root) }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/component: database
app.kubernetes.io/part-of: {{ $root.Values.partOf | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}
