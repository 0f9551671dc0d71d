{{/* Retention CronJobs: `airflow db clean` over the metadata database, and old task log files on the logs PVC. */}}

{{/*
Script of the database cleanup: the cutoff is computed when the Job runs (now - RETENTION_DAYS, UTC), then
`airflow db clean --clean-before-timestamp <cutoff> --yes --error-on-cleanup-failure` (the Job fails when a table
fails), with --skip-archive when cleanup.database.skipArchive and --tables when cleanup.database.tables is set.
Usage:
  {{ include "airflow.cleanup.databaseScript" (dict "values" .Values.cleanup.database) }}
Params:
  - values - Dict - Required. cleanup.database (skipArchive, tables).
*/}}
{{- define "airflow.cleanup.databaseScript" -}}
set -euo pipefail
cutoff="$(python -c 'import datetime, os; print((datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=int(os.environ["RETENTION_DAYS"]))).isoformat(timespec="seconds"))')"
echo "airflow db clean: rows older than ${cutoff} (${RETENTION_DAYS} days)"
exec airflow db clean --clean-before-timestamp "${cutoff}" --yes --error-on-cleanup-failure
{{- if .values.skipArchive }} --skip-archive{{ end }}
{{- with .values.tables }} --tables {{ join "," . | quote }}{{ end }}
{{- end -}}

{{/*
Script of the log cleanup: deletes the files under LOGS_DIR last modified more than RETENTION_DAYS ago (-mmin, to
the minute), then the directories left empty; prints every path it deletes and the counts.
Usage:
  {{ include "airflow.cleanup.logsScript" (dict) }}
Params: none.
*/}}
{{- define "airflow.cleanup.logsScript" -}}
set -euo pipefail
minutes=$(( RETENTION_DAYS * 1440 ))
echo "deleting files under ${LOGS_DIR} last modified more than ${RETENTION_DAYS} days (${minutes} min) ago"
files="$(find "${LOGS_DIR}" -mindepth 1 -type f -mmin "+${minutes}" -print -delete | tee /dev/stderr | wc -l)"
dirs="$(find "${LOGS_DIR}" -mindepth 1 -type d -empty -print -delete | tee /dev/stderr | wc -l)"
echo "deleted ${files} files and ${dirs} empty directories"
{{- end -}}

{{/*
A retention CronJob: one container on the Airflow image, the chart's security defaults (non-root, read-only root
filesystem, drop ALL, RuntimeDefault seccomp), the cleanup service account without a token, concurrencyPolicy
Forbid.
Usage:
  {{ include "airflow.cleanup.cronJob" (dict "component" "database-cleanup" "values" .Values.cleanup.database "script" $script "env" $envYaml "mounts" $mountsYaml "volumes" $volumesYaml "context" $) }}
Params:
  - component - String - Required. Component label, container name and name suffix (database-cleanup, logs-cleanup).
  - values - Dict - Required. cleanup.database or cleanup.logs (schedule, retentionDays).
  - script - String - Required. The bash script the container runs.
  - env - String - Optional. Extra EnvVar list YAML.
  - mounts - String - Optional. Extra VolumeMount list YAML.
  - volumes - String - Optional. Extra Volume list YAML.
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.cleanup.cronJob" -}}
{{- $root := .context -}}
{{- $cl := $root.Values.cleanup -}}
{{- $c := dict "securityContexts" (dict "pod" dict "container" dict) -}}
apiVersion: batch/v1
kind: CronJob
metadata:
  name: {{ include "airflow.componentName" (dict "suffix" .component "context" $root) }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "airflow.labels" (dict "component" .component "context" $root) | nindent 4 }}
  annotations:
    {{- $checks := list "CKV_K8S_15" "CKV_K8S_43" "CKV2_K8S_6" }}
    {{- if contains "secretKeyRef" (toString .env) }}{{ $checks = append $checks "CKV_K8S_35" }}{{ end }}
    {{- include "airflow.checkov.skips" (dict "checks" $checks "context" $root) | nindent 4 }}
spec:
  schedule: {{ .values.schedule | quote }}
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 600
  successfulJobsHistoryLimit: 1
  failedJobsHistoryLimit: 3
  jobTemplate:
    metadata:
      labels:
        {{- include "airflow.labels" (dict "component" .component "context" $root) | nindent 8 }}
    spec:
      backoffLimit: 1
      activeDeadlineSeconds: {{ int $cl.activeDeadlineSeconds }}
      template:
        metadata:
          labels:
            {{- include "airflow.labels" (dict "component" .component "context" $root) | nindent 12 }}
        spec:
          restartPolicy: Never
          serviceAccountName: {{ include "airflow.serviceAccountName" (dict "component" "cleanup" "serviceAccount" $cl.serviceAccount "context" $root) }}
          automountServiceAccountToken: false
          {{- include "airflow.imagePullSecrets" (dict "context" $root) | nindent 10 }}
          securityContext:
            {{- include "airflow.podSecurityContext" (dict "values" $c "context" $root) | nindent 12 }}
          {{- include "airflow.scheduling" (dict "values" $cl) | nindent 10 }}
          containers:
            - name: {{ .component }}
              image: {{ include "airflow.image" (dict "context" $root) }}
              imagePullPolicy: {{ $root.Values.images.airflow.pullPolicy }}
              args:
                - bash
                - -c
                - |
                  {{- .script | nindent 18 }}
              env:
                {{- include "airflow.env.common" (dict "context" $root) | nindent 16 }}
                - name: RETENTION_DAYS
                  value: {{ .values.retentionDays | int | quote }}
                {{- with .env }}
                {{- . | nindent 16 }}
                {{- end }}
              resources:
                {{- toYaml $cl.resources | nindent 16 }}
              securityContext:
                {{- include "airflow.containerSecurityContext" (dict "values" $c "context" $root) | nindent 16 }}
              volumeMounts:
                {{- include "airflow.volumeMount.base" (dict "context" $root) | nindent 16 }}
                {{- with .mounts }}
                {{- . | nindent 16 }}
                {{- end }}
          volumes:
            {{- include "airflow.volume.base" (dict "context" $root) | nindent 12 }}
            {{- with .volumes }}
            {{- . | nindent 12 }}
            {{- end }}
{{- end -}}
