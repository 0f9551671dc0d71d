{{/*
Names. Contract relied on by charts/airflow: installed as dependency `postgres` of release R, the Service and the
generated Secret are both named `R-postgres`.
*/}}

{{- define "postgres.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* True ("true") when this chart is rendered as a subchart of another chart. */}}
{{- define "postgres.isSubchart" -}}
{{- if contains "/charts/" .Template.BasePath -}}true{{- end -}}
{{- end -}}

{{/*
Full name: fullnameOverride (tpl-evaluated) if set; as a subchart always `<release>-<chart name>`;
installed alone the usual helper semantics (the release name alone when it already contains the chart name).
*/}}
{{- define "postgres.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- tpl .Values.fullnameOverride . | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if and (not (include "postgres.isSubchart" .)) (contains $name .Release.Name) -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "postgres.headlessName" -}}
{{- printf "%s-hl" (include "postgres.fullname" . | trunc 60 | trimSuffix "-") -}}
{{- end -}}

{{/* Secret holding the password: auth.existingSecret (tpl-evaluated) or the generated one. */}}
{{- define "postgres.secretName" -}}
{{- if .Values.auth.existingSecret -}}
{{- tpl .Values.auth.existingSecret . -}}
{{- else -}}
{{- include "postgres.fullname" . -}}
{{- end -}}
{{- end -}}

{{- define "postgres.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "postgres.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- end -}}
{{- end -}}

{{- define "postgres.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "postgres.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}
