{{/* Object names. Every name is derived here; templates never build names themselves. */}}

{{- define "airflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release> when it already contains the chart name, else <release>-<chart>; fullnameOverride wins. */}}
{{- define "airflow.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<suffix>, kept within 63 characters. Call with (list $ "suffix"). */}}
{{- define "airflow.componentName" -}}
{{- $root := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- printf "%s-%s" (include "airflow.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-") $suffix -}}
{{- end -}}

{{- define "airflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Service account of a component. Call with (list $ "scheduler" .Values.scheduler.serviceAccount). */}}
{{- define "airflow.serviceAccountName" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
{{- $sa := index . 2 -}}
{{- if $sa.create -}}
{{- default (include "airflow.componentName" (list $root $component)) $sa.name -}}
{{- else -}}
{{- default "default" $sa.name -}}
{{- end -}}
{{- end -}}

{{- define "airflow.apiServer.serviceName" -}}{{ include "airflow.componentName" (list . "api-server") }}{{- end -}}
{{- define "airflow.scheduler.serviceName" -}}{{ include "airflow.componentName" (list . "scheduler") }}{{- end -}}
{{- define "airflow.configMapName" -}}{{ include "airflow.componentName" (list . "config") }}{{- end -}}
{{- define "airflow.podTemplateConfigMapName" -}}{{ include "airflow.componentName" (list . "pod-template") }}{{- end -}}
{{- define "airflow.knownHostsConfigMapName" -}}{{ include "airflow.componentName" (list . "git-known-hosts") }}{{- end -}}
{{- define "airflow.secretsName" -}}{{ include "airflow.componentName" (list . "keys") }}{{- end -}}
{{- define "airflow.authSecretName" -}}{{ default (include "airflow.componentName" (list . "auth")) .Values.auth.existingSecret }}{{- end -}}
{{- define "airflow.podLauncherRoleName" -}}{{ include "airflow.componentName" (list . "pod-launcher") }}{{- end -}}

{{/* Namespace task pods run in. */}}
{{- define "airflow.workerNamespace" -}}{{ default .Release.Namespace .Values.kubernetesExecutor.namespace }}{{- end -}}

{{/* Bundled PostgreSQL: Service and Secret names follow the postgres chart's contract (<release>-postgres). */}}
{{- define "airflow.postgres.fullname" -}}
{{- if .Values.postgres.fullnameOverride -}}
{{- tpl .Values.postgres.fullnameOverride . | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-postgres" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "airflow.postgres.secretName" -}}
{{- if .Values.postgres.auth.existingSecret -}}
{{- tpl .Values.postgres.auth.existingSecret . -}}
{{- else -}}
{{- include "airflow.postgres.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* Claims */}}
{{- define "airflow.dags.claimName" -}}
{{- default (include "airflow.componentName" (list . "dags")) (tpl .Values.dags.persistence.existingClaim .) -}}
{{- end -}}
{{- define "airflow.logs.claimName" -}}
{{- default (include "airflow.componentName" (list . "logs")) (tpl .Values.logs.persistence.existingClaim .) -}}
{{- end -}}
