{{/* Labels: app.kubernetes.io/* recommended labels plus helm.sh/chart. */}}

{{/*
Selector labels of one component (name, instance, component).
Usage:
  {{ include "airflow.selectorLabels" (dict "component" "scheduler" "context" $) }}
Params:
  - component - String - Required. app.kubernetes.io/component value.
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "airflow.name" (dict "context" .context) }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
All labels of one component's objects: selector labels, version, part-of, managed-by, chart, commonLabels and
the component's own labels.
Usage:
  {{ include "airflow.labels" (dict "component" "scheduler" "labels" .Values.scheduler.labels "context" $) }}
Params:
  - component - String - Required. app.kubernetes.io/component value.
  - labels - Dict - Optional. Extra labels of this component.
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.labels" -}}
{{- $root := .context -}}
{{ include "airflow.selectorLabels" (dict "component" .component "context" $root) }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: {{ $root.Values.partOf | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ include "airflow.chart" (dict "context" $root) }}
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- with .labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Selector matching every pod of this release of the chart (all components and task pods).
Usage:
  {{ include "airflow.releaseSelector" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.releaseSelector" -}}
app.kubernetes.io/name: {{ include "airflow.name" (dict "context" .context) }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
{{- end -}}
