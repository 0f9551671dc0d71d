{{/* Images. Tags are strings (values.schema.json refuses YAML numbers). */}}

{{/*
The Airflow image and the git-sync image: repository:tag, repository:tag@digest with a digest, or
repository@digest when the tag is empty.
Usage:
  {{ include "airflow.image" (dict "context" $) }}
  {{ include "airflow.gitSync.image" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.image" -}}
{{- include "airflow.imageRef" (dict "image" .context.Values.images.airflow) -}}
{{- end -}}

{{- define "airflow.gitSync.image" -}}
{{- include "airflow.imageRef" (dict "image" .context.Values.images.gitSync) -}}
{{- end -}}

{{/*
One image reference from an images.<name> block (repository, tag, digest).
Usage:
  {{ include "airflow.imageRef" (dict "image" .Values.images.airflow) }}
Params:
  - image - Dict - Required. repository, tag (may be empty with a digest), digest (optional, sha256:…).
*/}}
{{- define "airflow.imageRef" -}}
{{- $i := .image -}}
{{- $ref := $i.repository -}}
{{- with $i.tag }}{{ $ref = printf "%s:%s" $ref . }}{{ end -}}
{{- with $i.digest }}{{ $ref = printf "%s@%s" $ref . }}{{ end -}}
{{- $ref -}}
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
