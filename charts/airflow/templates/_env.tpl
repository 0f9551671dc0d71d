{{/* Environment variables. Secrets only ever arrive through secretKeyRef/secretRef, never as literals. */}}

{{/* Env shared by every Airflow container (components, migration job, task pods). */}}
{{- define "airflow.env.common" -}}
- name: AIRFLOW_HOME
  value: /opt/airflow
- name: AIRFLOW_CONFIG
  value: {{ include "airflow.paths.config" . }}
{{- if and .Values.logs.remote.enabled .Values.logs.remote.endpointUrl }}
- name: AWS_ENDPOINT_URL_S3
  value: {{ .Values.logs.remote.endpointUrl | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Database connection. Password from a secretKeyRef, URL assembled by Kubernetes dependent env expansion. */}}
{{- define "airflow.env.database" -}}
{{- if .Values.postgres.enabled }}
- name: AIRFLOW_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "airflow.postgres.secretName" . }}
      key: {{ .Values.postgres.auth.passwordKey }}
- name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
  value: {{ printf "postgresql+psycopg2://%s:$(AIRFLOW_DB_PASSWORD)@%s.%s.svc:%d/%s" .Values.postgres.auth.username (include "airflow.postgres.fullname" .) .Release.Namespace (int .Values.postgres.service.port) .Values.postgres.auth.database | quote }}
{{- else if .Values.externalDatabase.urlSecret }}
- name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalDatabase.urlSecret }}
      key: {{ .Values.externalDatabase.urlSecretKey }}
{{- else }}
{{- $e := .Values.externalDatabase }}
- name: AIRFLOW_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $e.passwordSecret }}
      key: {{ $e.passwordSecretKey }}
- name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
  value: {{ printf "%s://%s:$(AIRFLOW_DB_PASSWORD)@%s:%d/%s%s" $e.driver $e.user $e.host (int $e.port) $e.database (ternary (printf "?sslmode=%s" $e.sslmode) "" (ne $e.sslmode "")) | quote }}
{{- end }}
{{- end -}}

{{/* Airflow secrets shared by the long-running components (never task pods). */}}
{{- define "airflow.env.secrets" -}}
- name: AIRFLOW__CORE__FERNET_KEY
  valueFrom:
    secretKeyRef:
      {{- include "airflow.secretRef" (list . "fernetKey") | nindent 6 }}
- name: AIRFLOW__API__SECRET_KEY
  valueFrom:
    secretKeyRef:
      {{- include "airflow.secretRef" (list . "apiSecretKey") | nindent 6 }}
- name: AIRFLOW__API_AUTH__JWT_SECRET
  valueFrom:
    secretKeyRef:
      {{- include "airflow.secretRef" (list . "jwtSecret") | nindent 6 }}
{{- end -}}

{{/* Full env of a long-running component container. Call with (list $ componentValues). */}}
{{- define "airflow.env.component" -}}
{{- $root := index . 0 -}}
{{- $c := index . 1 -}}
{{ include "airflow.env.common" $root }}
{{ include "airflow.env.database" $root | trim }}
{{ include "airflow.env.secrets" $root }}
- name: CONNECTION_CHECK_MAX_COUNT
  value: "0"
{{- with $c.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "airflow.envFrom" -}}
{{- $list := list -}}
{{- if and .Values.logs.remote.enabled .Values.logs.remote.connectionSecret -}}
{{- $list = append $list (dict "secretRef" (dict "name" .Values.logs.remote.connectionSecret)) -}}
{{- end -}}
{{- $list = concat $list .Values.extraEnvFrom -}}
{{- with $list }}
envFrom:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
