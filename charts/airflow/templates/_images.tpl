{{/* Images. Tags are strings (values.schema.json refuses YAML numbers). */}}

{{/*
The Airflow image (repository:tag) and the git-sync image.
Usage:
  {{ include "airflow.image" (dict "context" $) }}
  {{ include "airflow.gitSync.image" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.image" -}}
{{- printf "%s:%s" .context.Values.images.airflow.repository .context.Values.images.airflow.tag -}}
{{- end -}}

{{- define "airflow.gitSync.image" -}}
{{- printf "%s:%s" .context.Values.images.gitSync.repository .context.Values.images.gitSync.tag -}}
{{- end -}}

{{/*
imagePullSecrets of a pod spec (nothing when none are set).
Usage:
  {{- include "airflow.imagePullSecrets" (dict "context" $) | nindent 6 }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.imagePullSecrets" -}}
{{- with .context.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
