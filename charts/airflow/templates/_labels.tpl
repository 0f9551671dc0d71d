{{/* Labels: app.kubernetes.io/* recommended labels plus helm.sh/chart. Call with (list $ "component"). */}}

{{- define "airflow.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "airflow.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "airflow.labels" -}}
{{- $root := index . 0 -}}
{{ include "airflow.selectorLabels" . }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: {{ $root.Values.partOf | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ include "airflow.chart" $root }}
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- if gt (len .) 2 }}{{ with index . 2 }}
{{ toYaml . }}
{{- end }}{{ end }}
{{- end -}}

{{/* Selector matching every pod of this release of the chart (all components and task pods). */}}
{{- define "airflow.releaseSelector" -}}
app.kubernetes.io/name: {{ include "airflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
