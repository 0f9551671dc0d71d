{{/* airflow.cfg: chart defaults deep-merged with .Values.config, paths shared by all templates. */}}

{{- define "airflow.paths.configDir" -}}/opt/airflow/config{{- end -}}
{{- define "airflow.paths.config" -}}/opt/airflow/config/airflow.cfg{{- end -}}
{{- define "airflow.paths.podTemplateDir" -}}/opt/airflow/pod_templates{{- end -}}
{{- define "airflow.paths.podTemplate" -}}/opt/airflow/pod_templates/pod_template_file.yaml{{- end -}}
{{- define "airflow.paths.authDir" -}}/opt/airflow/auth{{- end -}}
{{- define "airflow.paths.authSecretDir" -}}/opt/airflow/auth-secret{{- end -}}
{{- define "airflow.paths.passwordsFile" -}}/opt/airflow/auth/simple_auth_manager_passwords.json{{- end -}}

{{/* "true" when DAGs come from git-sync / from a PVC. */}}
{{- define "airflow.dags.gitSync" -}}{{ if .Values.dags.gitSync.enabled }}true{{ end }}{{- end -}}
{{- define "airflow.dags.pvc" -}}{{ if .Values.dags.persistence.enabled }}true{{ end }}{{- end -}}

{{/* dags_folder: git-sync → <root>/<link>/<subPath>; PVC or image → dags.mountPath. */}}
{{- define "airflow.dags.folder" -}}
{{- if .Values.dags.gitSync.enabled -}}
{{- $parts := list (trimSuffix "/" .Values.dags.mountPath) "repo" -}}
{{- with trimAll "/" .Values.dags.gitSync.subPath }}{{ $parts = append $parts . }}{{ end -}}
{{- join "/" $parts -}}
{{- else -}}
{{- .Values.dags.mountPath -}}
{{- end -}}
{{- end -}}

{{/* Sub-path of [api] base_url ("" or "/something"), used for the execution API URL and the health probes. */}}
{{- define "airflow.api.basePath" -}}
{{- $base := "" -}}
{{- with .Values.config.api }}{{ with .base_url }}{{ $base = tpl (toString .) $ }}{{ end }}{{ end -}}
{{- $path := "" -}}
{{- if hasPrefix "/" $base -}}
{{- $path = $base -}}
{{- else if $base -}}
{{- $path = (urlParse $base).path -}}
{{- end -}}
{{- $path = trimSuffix "/" $path -}}
{{- if $path }}{{ printf "/%s" (trimPrefix "/" $path) }}{{ end -}}
{{- end -}}

{{/* http://<api-svc>.<ns>.svc:<port><sub-path>/execution/ */}}
{{- define "airflow.executionApiUrl" -}}
{{- printf "http://%s.%s.svc:%d%s/execution/" (include "airflow.apiServer.serviceName" .) .Release.Namespace (int .Values.apiServer.service.port) (include "airflow.api.basePath" .) -}}
{{- end -}}

{{- define "airflow.authManagerClass" -}}
{{- if eq .Values.auth.manager "fab" -}}
airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager
{{- else -}}
airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
{{- end -}}
{{- end -}}

{{- define "airflow.remoteLogs.connectionId" -}}
{{- if .Values.logs.remote.connectionId -}}
{{- .Values.logs.remote.connectionId -}}
{{- else if eq .Values.logs.remote.backend "gcs" -}}
google_cloud_default
{{- else -}}
aws_default
{{- end -}}
{{- end -}}

{{/* Chart defaults as a YAML map (section → key → value). */}}
{{- define "airflow.config.defaults" -}}
core:
  executor: {{ .Values.executor }}
  dags_folder: {{ include "airflow.dags.folder" . }}
  load_examples: "False"
  # Airflow's 32 caps a deployment at 32 running task pods: with the KubernetesExecutor the cluster is the
  # capacity, and a 50-task fan-out (docs/benchmarks.md, P2) needs more than 32 slots.
  parallelism: "64"
  execution_api_server_url: {{ include "airflow.executionApiUrl" . }}
  auth_manager: {{ include "airflow.authManagerClass" . }}
  {{- if eq .Values.auth.manager "simple" }}
  simple_auth_manager_users: {{ $users := list }}{{ range .Values.auth.users }}{{ $users = append $users (printf "%s:%s" .username .role) }}{{ end }}{{ join "," $users | quote }}
  simple_auth_manager_passwords_file: {{ include "airflow.paths.passwordsFile" . }}
  {{- end }}
api:
  host: 0.0.0.0
  port: "8080"
  expose_config: "False"
logging:
  base_log_folder: {{ .Values.logs.mountPath }}
  colored_console_log: "False"
  remote_logging: {{ ternary "True" "False" .Values.logs.remote.enabled | quote }}
  {{- if .Values.logs.remote.enabled }}
  remote_base_log_folder: {{ .Values.logs.remote.baseUrl }}
  remote_log_conn_id: {{ include "airflow.remoteLogs.connectionId" . }}
  delete_local_logs: {{ ternary "True" "False" .Values.logs.remote.deleteLocalCopy | quote }}
  {{- end }}
scheduler:
  enable_health_check: "True"
  scheduler_health_check_server_host: 0.0.0.0
  scheduler_health_check_server_port: "8974"
  # a replaced scheduler pod adopts (and cleans up) the task pods of its predecessor within a minute, not five
  orphaned_tasks_check_interval: "60"
dag_processor:
  refresh_interval: "60"
kubernetes_executor:
  pod_template_file: {{ include "airflow.paths.podTemplate" . }}
  namespace: {{ include "airflow.workerNamespace" . }}
  in_cluster: "True"
  delete_worker_pods: {{ ternary "True" "False" .Values.kubernetesExecutor.deleteWorkerPods | quote }}
  delete_worker_pods_on_failure: {{ ternary "True" "False" .Values.kubernetesExecutor.deleteWorkerPodsOnFailure | quote }}
  worker_pods_creation_batch_size: {{ .Values.kubernetesExecutor.workerPodsCreationBatchSize | quote }}
  async_pod_creation: {{ ternary "True" "False" .Values.kubernetesExecutor.asyncPodCreation | quote }}
  multi_namespace_mode: {{ ternary "True" "False" .Values.kubernetesExecutor.multiNamespaceMode | quote }}
  {{- with .Values.kubernetesExecutor.multiNamespaces }}
  multi_namespace_mode_namespace_list: {{ join "," . | quote }}
  {{- end }}
{{- end -}}

{{/* Merged configuration as a dict (user's `config` wins). */}}
{{- define "airflow.config.merged" -}}
{{- $defaults := include "airflow.config.defaults" . | fromYaml -}}
{{- $merged := mustMergeOverwrite $defaults (deepCopy (default dict .Values.config)) -}}
{{- toYaml $merged -}}
{{- end -}}

{{/* airflow.cfg text: sorted sections and keys; booleans as True/False; lists/maps as JSON; values through tpl. */}}
{{- define "airflow.config.cfg" -}}
{{- $merged := include "airflow.config.merged" . | fromYaml -}}
{{- range $section := keys $merged | sortAlpha }}
[{{ $section }}]
{{- $options := index $merged $section }}
{{- if kindIs "map" $options }}
{{- range $key := keys $options | sortAlpha }}
{{- $value := index $options $key }}
{{- if kindIs "bool" $value }}{{ $value = ternary "True" "False" $value }}
{{- else if or (kindIs "map" $value) (kindIs "slice" $value) }}{{ $value = toJson $value }}
{{- else if kindIs "invalid" $value }}{{ $value = "" }}
{{- else if kindIs "float64" $value }}{{ $value = toString $value }}{{ end }}
{{ $key }} = {{ tpl (toString $value) $ }}
{{- end }}
{{- end }}
{{ end }}
{{- end -}}

{{/* Checksum of everything that configures the Airflow processes. */}}
{{- define "airflow.checksum.config" -}}
{{- include "airflow.config.cfg" . | sha256sum -}}
{{- end -}}

{{/* The rendered worker pod template (files/pod-template.yaml). */}}
{{- define "airflow.podTemplate" -}}
{{- tpl (.Files.Get "files/pod-template.yaml") . -}}
{{- end -}}
