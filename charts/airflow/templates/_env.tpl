{{/* Environment variables. Secrets only ever arrive through secretKeyRef/secretRef, never as literals. */}}

{{/*
Env shared by every Airflow container (components, migration job, task pods).
Usage:
  {{- include "airflow.env.common" (dict "context" $) | nindent 12 }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.env.common" -}}
{{- $root := .context -}}
- name: AIRFLOW_HOME
  value: /opt/airflow
- name: AIRFLOW_CONFIG
  value: {{ include "airflow.paths.config" (dict) }}
{{- if $root.Values.kubernetesPodOperator.enabled }}
- name: AIRKUBE_KPO_NAMESPACE
  value: {{ include "airflow.kpoNamespace" (dict "context" $root) | quote }}
{{- end }}
{{- if and $root.Values.logs.remote.enabled $root.Values.logs.remote.endpointUrl }}
- name: AWS_ENDPOINT_URL_S3
  value: {{ $root.Values.logs.remote.endpointUrl | quote }}
{{- end }}
{{- include "airflow.metrics.env" (dict "context" $root) }}
{{- with $root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Database connection. Password from a secretKeyRef, URL assembled by Kubernetes dependent env expansion.
Usage:
  {{- include "airflow.env.database" (dict "context" $) | trim | nindent 12 }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.env.database" -}}
{{- $root := .context -}}
{{- $v := $root.Values -}}
{{- if $v.postgres.enabled }}
- name: AIRFLOW_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "airflow.postgres.secretName" (dict "context" $root) }}
      key: {{ $v.postgres.auth.passwordKey }}
- name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
  value: {{ printf "postgresql+psycopg2://%s:$(AIRFLOW_DB_PASSWORD)@%s.%s.svc:%d/%s" $v.postgres.auth.username (include "airflow.postgres.fullname" (dict "context" $root)) $root.Release.Namespace (int $v.postgres.service.port) $v.postgres.auth.database | quote }}
{{- else if $v.externalDatabase.urlSecret }}
- name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
  valueFrom:
    secretKeyRef:
      name: {{ $v.externalDatabase.urlSecret }}
      key: {{ $v.externalDatabase.urlSecretKey }}
{{- else }}
{{- $e := $v.externalDatabase }}
- name: AIRFLOW_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $e.passwordSecret }}
      key: {{ $e.passwordSecretKey }}
- name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
  value: {{ printf "%s://%s:$(AIRFLOW_DB_PASSWORD)@%s:%d/%s%s" $e.driver $e.user $e.host (int $e.port) $e.database (ternary (printf "?sslmode=%s" $e.sslmode) "" (ne $e.sslmode "")) | quote }}
{{- end }}
{{- end -}}

{{/*
Airflow secrets shared by the long-running components (never task pods).
Usage:
  {{- include "airflow.env.secrets" (dict "context" $) | nindent 12 }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.env.secrets" -}}
- name: AIRFLOW__CORE__FERNET_KEY
  valueFrom:
    secretKeyRef:
      {{- include "airflow.secretRef" (dict "secret" "fernetKey" "context" .context) | nindent 6 }}
- name: AIRFLOW__API__SECRET_KEY
  valueFrom:
    secretKeyRef:
      {{- include "airflow.secretRef" (dict "secret" "apiSecretKey" "context" .context) | nindent 6 }}
- name: AIRFLOW__API_AUTH__JWT_SECRET
  valueFrom:
    secretKeyRef:
      {{- include "airflow.secretRef" (dict "secret" "jwtSecret" "context" .context) | nindent 6 }}
{{- end -}}

{{/*
Full env of a long-running component container.
Usage:
  {{- include "airflow.env.component" (dict "component" "scheduler" "values" .Values.scheduler "context" $) | nindent 12 }}
Params:
  - component - String - Optional. Component name (api-server, scheduler, dag-processor, triggerer).
  - values - Dict - Required. The component's values block (reads extraEnv).
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.env.component" -}}
{{- $root := .context -}}
{{ include "airflow.env.common" (dict "context" $root) }}
{{ include "airflow.env.database" (dict "context" $root) | trim }}
{{ include "airflow.env.secrets" (dict "context" $root) }}
- name: CONNECTION_CHECK_MAX_COUNT
  value: "0"
{{- /* files/sitecustomize.py (config ConfigMap) on the PYTHONPATH: gc.freeze() before each fork (scheduler,
triggerer) and the KubernetesExecutor's pod deletes once per pod (scheduler) */}}
{{- $freeze := .values.gcFreezeBeforeFork }}
{{- $deletes := "" }}
{{- if eq (.component | default "") "scheduler" }}
{{- $deletes = include "airflow.kubernetesExecutor.podDeletes" (dict "context" $root) }}
{{- end }}
{{- if or $freeze $deletes }}
- name: PYTHONPATH
  value: {{ include "airflow.paths.configDir" (dict) }}
{{- end }}
{{- if $freeze }}
- name: AIRKUBE_GC_FREEZE_BEFORE_FORK
  value: "1"
{{- end }}
{{- with $deletes }}
- name: AIRKUBE_POD_DELETES
  value: {{ . }}
{{- end }}
{{- include "airflow.env.migrationCheck" (dict "component" .component "context" $root) }}
{{- with .values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
envFrom of an Airflow container: the remote-logging connection Secret and extraEnvFrom (nothing when empty).
Usage:
  {{- include "airflow.envFrom" (dict "context" $) | nindent 10 }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.envFrom" -}}
{{- $v := .context.Values -}}
{{- $list := list -}}
{{- if and $v.logs.remote.enabled $v.logs.remote.connectionSecret -}}
{{- $list = append $list (dict "secretRef" (dict "name" $v.logs.remote.connectionSecret)) -}}
{{- end -}}
{{- $list = concat $list $v.extraEnvFrom -}}
{{- with $list }}
envFrom:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
[database] check_migrations = False for the api-server, the scheduler and the dag-processor when their pods
already wait for the schema in the wait-for-migrations init container (migrations.enabled), unless
config.database.check_migrations is set: Airflow's own start-up check repeats that wait and leaves alembic
loaded for good (measured, Airflow 3.3.2 idle: dag-processor -10 MiB, api-server -7, scheduler -7). The triggerer
keeps Airflow's default: without the check it measured +42 MiB (twice; its trigger-runner child is forked after
start-up).
Usage:
  {{- include "airflow.env.migrationCheck" (dict "component" "scheduler" "context" $) }}
Params:
  - component - String - Optional. Component name; nothing for other components or when empty.
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.env.migrationCheck" -}}
{{- $v := .context.Values -}}
{{- $userSet := hasKey (default dict (default dict $v.config).database) "check_migrations" -}}
{{- if and $v.migrations.enabled (not $userSet) (has .component (list "api-server" "scheduler" "dag-processor")) }}
- name: AIRFLOW__DATABASE__CHECK_MIGRATIONS
  value: "False"
{{- end }}
{{- end -}}

{{/*
CONNECTION_CHECK_MAX_COUNT=0 where files/migrations-wait.py already waits for the database (migrations.waitCheck
script): the image entrypoint then skips its own `airflow db check` (a full Airflow start, retried every 3 s).
Nothing with waitCheck cli: the entrypoint keeps waiting for the database as before.
Usage:
  {{- include "airflow.env.migrationsWait" (dict "context" $) | nindent 4 }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.env.migrationsWait" -}}
{{- if eq .context.Values.migrations.waitCheck "script" -}}
- name: CONNECTION_CHECK_MAX_COUNT
  value: "0"
{{- end -}}
{{- end -}}

{{/*
How the scheduler's KubernetesExecutor deletes finished task pods (files/airkube_pod_deletes.py, loaded by
files/sitecustomize.py): "background" (kubernetesExecutor.asyncPodDeletion), "once"
(kubernetesExecutor.skipRepeatedPodDeletes) or "" (the provider's own way: once per watch event, in the loop).
The value of AIRKUBE_POD_DELETES, and whether the config ConfigMap carries the module.
Usage:
  {{- $deletes := include "airflow.kubernetesExecutor.podDeletes" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.kubernetesExecutor.podDeletes" -}}
{{- $ke := .context.Values.kubernetesExecutor -}}
{{- if $ke.asyncPodDeletion -}}background{{- else if $ke.skipRepeatedPodDeletes -}}once{{- end -}}
{{- end -}}
