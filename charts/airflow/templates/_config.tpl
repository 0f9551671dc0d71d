{{/* airflow.cfg: chart defaults deep-merged with .Values.config, paths shared by all templates. */}}

{{/*
Fixed paths inside the Airflow containers.
Usage:
  {{ include "airflow.paths.config" (dict) }}
  (likewise airflow.paths.configDir, airflow.paths.podTemplateDir, airflow.paths.podTemplate,
  airflow.paths.authDir, airflow.paths.authSecretDir, airflow.paths.passwordsFile, airflow.paths.jobCheck,
  airflow.paths.migrationsWait)
Params: none.
*/}}
{{- define "airflow.paths.configDir" -}}/opt/airflow/config{{- end -}}
{{- define "airflow.paths.config" -}}/opt/airflow/config/airflow.cfg{{- end -}}
{{- define "airflow.paths.podTemplateDir" -}}/opt/airflow/pod_templates{{- end -}}
{{- define "airflow.paths.podTemplate" -}}/opt/airflow/pod_templates/pod_template_file.yaml{{- end -}}
{{- define "airflow.paths.authDir" -}}/opt/airflow/auth{{- end -}}
{{- define "airflow.paths.authSecretDir" -}}/opt/airflow/auth-secret{{- end -}}
{{- define "airflow.paths.passwordsFile" -}}/opt/airflow/auth/simple_auth_manager_passwords.json{{- end -}}
{{- define "airflow.paths.jobCheck" -}}/opt/airflow/config/job-check.py{{- end -}}
{{- define "airflow.paths.migrationsWait" -}}/opt/airflow/config/migrations-wait.py{{- end -}}

{{/*
"true" when DAGs come from git-sync / from a PVC, else "".
Usage:
  {{ if include "airflow.dags.gitSync" (dict "context" $) }}…{{ end }}
  {{ if include "airflow.dags.pvc" (dict "context" $) }}…{{ end }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.dags.gitSync" -}}{{ if .context.Values.dags.gitSync.enabled }}true{{ end }}{{- end -}}
{{- define "airflow.dags.pvc" -}}{{ if .context.Values.dags.persistence.enabled }}true{{ end }}{{- end -}}

{{/*
dags_folder: git-sync -> <mountPath>/repo/<subPath>; PVC or image -> dags.mountPath.
Usage:
  {{ include "airflow.dags.folder" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.dags.folder" -}}
{{- $d := .context.Values.dags -}}
{{- if $d.gitSync.enabled -}}
{{- $parts := list (trimSuffix "/" $d.mountPath) "repo" -}}
{{- with trimAll "/" $d.gitSync.subPath }}{{ $parts = append $parts . }}{{ end -}}
{{- join "/" $parts -}}
{{- else -}}
{{- $d.mountPath -}}
{{- end -}}
{{- end -}}

{{/*
Sub-path of [api] base_url ("" or "/something"; else the Ingress/HTTPRoute path), used for the execution API URL and the health probes.
Usage:
  {{ include "airflow.api.basePath" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.api.basePath" -}}
{{- $root := .context -}}
{{- $base := "" -}}
{{- with $root.Values.config.api }}{{ with .base_url }}{{ $base = tpl (toString .) $root }}{{ end }}{{ end -}}
{{- if not $base }}{{ $base = include "airflow.exposure.path" (dict "context" $root) }}{{ end -}}
{{- $path := "" -}}
{{- if hasPrefix "/" $base -}}
{{- $path = $base -}}
{{- else if $base -}}
{{- $path = (urlParse $base).path -}}
{{- end -}}
{{- $path = trimSuffix "/" $path -}}
{{- if $path }}{{ printf "/%s" (trimPrefix "/" $path) }}{{ end -}}
{{- end -}}

{{/*
Execution API URL of the task pods: http://<api-svc>.<ns>.svc:<port><sub-path>/execution/
Usage:
  {{ include "airflow.executionApiUrl" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.executionApiUrl" -}}
{{- $root := .context -}}
{{- printf "http://%s.%s.svc:%d%s/execution/" (include "airflow.apiServer.serviceName" (dict "context" $root)) $root.Release.Namespace (int $root.Values.apiServer.service.port) (include "airflow.api.basePath" (dict "context" $root)) -}}
{{- end -}}

{{/*
Class of the auth manager (auth.manager: simple or fab).
Usage:
  {{ include "airflow.authManagerClass" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.authManagerClass" -}}
{{- if eq .context.Values.auth.manager "fab" -}}
airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager
{{- else -}}
airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
{{- end -}}
{{- end -}}

{{/*
Airflow connection id of the remote log store: logs.remote.connectionId, else the backend's default.
Usage:
  {{ include "airflow.remoteLogs.connectionId" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.remoteLogs.connectionId" -}}
{{- $r := .context.Values.logs.remote -}}
{{- if $r.connectionId -}}
{{- $r.connectionId -}}
{{- else if eq $r.backend "gcs" -}}
google_cloud_default
{{- else -}}
aws_default
{{- end -}}
{{- end -}}

{{/*
Chart defaults of airflow.cfg as a YAML map (section -> key -> value).
Usage:
  {{ include "airflow.config.defaults" (dict "context" $) | fromYaml }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.config.defaults" -}}
{{- $root := .context -}}
{{- $v := $root.Values -}}
core:
  executor: {{ $v.executor }}
  dags_folder: {{ include "airflow.dags.folder" (dict "context" $root) }}
  load_examples: "False"
  # Airflow's 32 caps a deployment at 32 running task pods: with the KubernetesExecutor the cluster is the
  # capacity, and a 50-task fan-out (docs/benchmarks.md, P2) needs more than 32 slots.
  parallelism: "64"
  execution_api_server_url: {{ include "airflow.executionApiUrl" (dict "context" $root) }}
  auth_manager: {{ include "airflow.authManagerClass" (dict "context" $root) }}
  {{- if eq $v.auth.manager "simple" }}
  simple_auth_manager_users: {{ $users := list }}{{ range $v.auth.users }}{{ $users = append $users (printf "%s:%s" .username .role) }}{{ end }}{{ join "," $users | quote }}
  simple_auth_manager_passwords_file: {{ include "airflow.paths.passwordsFile" (dict) }}
  {{- end }}
api:
  {{- with include "airflow.exposure.baseUrl" (dict "context" $root) }}
  base_url: {{ . }}
  {{- end }}
  host: 0.0.0.0
  port: "8080"
  expose_config: "False"
logging:
  base_log_folder: {{ $v.logs.mountPath }}
  colored_console_log: "False"
  remote_logging: {{ ternary "True" "False" $v.logs.remote.enabled | quote }}
  {{- if $v.logs.remote.enabled }}
  remote_base_log_folder: {{ $v.logs.remote.baseUrl }}
  remote_log_conn_id: {{ include "airflow.remoteLogs.connectionId" (dict "context" $root) }}
  delete_local_logs: {{ ternary "True" "False" $v.logs.remote.deleteLocalCopy | quote }}
  {{- end }}
scheduler:
  # Airflow's 16 task instances queued per scheduler loop cap the executor at 16 new pods per loop whatever its batch
  # size (P6 in docs/benchmarks.md: with 128, batch 32 and async creation 10.7 pods/s at N = 2,000 instead of 7.2)
  max_tis_per_query: "128"
  enable_health_check: "True"
  scheduler_health_check_server_host: 0.0.0.0
  scheduler_health_check_server_port: "8974"
  # a replaced scheduler pod adopts (and cleans up) the task pods of its predecessor within a minute, not five
  orphaned_tasks_check_interval: "60"
dag_processor:
  # how often the dag-processor lists the dags folder for new files (a new file waited up to a minute with 60 s; P3
  # "install → first smoke task" in docs/benchmarks.md). Git bundles fetch once a minute unless their refreshInterval says otherwise.
  refresh_interval: "10"
  # Airflow's True imports, in the long-running manager, every airflow module a DAG file imports (one
  # KubernetesPodOperator DAG: the kubernetes and kubernetes_asyncio clients, ~1,700 modules) to save each
  # parsing child that import: +73 MiB resident for good, against ~1.5 % of one core more for the parsing children that now import it themselves
  # (docs/benchmarks.md, Tuning notes).
  parsing_pre_import_modules: "False"
  {{- if include "airflow.bundles.enabled" (dict "context" $root) }}
  dag_bundle_config_list: {{ include "airflow.bundles.configList" (dict "context" $root) | quote }}
  dag_bundle_storage_path: {{ include "airflow.paths.bundleStorage" (dict) }}
  {{- end }}
kubernetes_executor:
  pod_template_file: {{ include "airflow.paths.podTemplate" (dict) }}
  namespace: {{ include "airflow.workerNamespace" (dict "context" $root) }}
  in_cluster: "True"
  delete_worker_pods: {{ ternary "True" "False" $v.kubernetesExecutor.deleteWorkerPods | quote }}
  delete_worker_pods_on_failure: {{ ternary "True" "False" $v.kubernetesExecutor.deleteWorkerPodsOnFailure | quote }}
  worker_pods_creation_batch_size: {{ $v.kubernetesExecutor.workerPodsCreationBatchSize | quote }}
  async_pod_creation: {{ ternary "True" "False" $v.kubernetesExecutor.asyncPodCreation | quote }}
  multi_namespace_mode: {{ ternary "True" "False" $v.kubernetesExecutor.multiNamespaceMode | quote }}
  {{- with $v.kubernetesExecutor.multiNamespaces }}
  multi_namespace_mode_namespace_list: {{ join "," . | quote }}
  {{- end }}
{{- include "airflow.metrics.config" (dict "context" $root) }}
{{- end -}}

{{/*
Merged configuration as YAML (the user's `config` wins over the chart defaults).
Usage:
  {{ include "airflow.config.merged" (dict "context" $) | fromYaml }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.config.merged" -}}
{{- $defaults := include "airflow.config.defaults" (dict "context" .context) | fromYaml -}}
{{- $merged := mustMergeOverwrite $defaults (deepCopy (default dict .context.Values.config)) -}}
{{- toYaml $merged -}}
{{- end -}}

{{/*
airflow.cfg text: sorted sections and keys; booleans as True/False; lists/maps as JSON; values through tpl.
Usage:
  {{ include "airflow.config.cfg" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.config.cfg" -}}
{{- $root := .context -}}
{{- $merged := include "airflow.config.merged" (dict "context" $root) | fromYaml -}}
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
{{ $key }} = {{ tpl (toString $value) $root }}
{{- end }}
{{- end }}
{{ end }}
{{- end -}}

{{/*
Checksum of everything that configures the Airflow processes (airflow.cfg and airflowLocalSettings), except the
lines [dag_processor] dag_bundle_config_list and dag_bundle_storage_path: only the dag-processor reads them
(airflow.checksum.bundles), so a bundle change restarts the dag-processor alone.
Usage:
  {{ include "airflow.checksum.config" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.checksum.config" -}}
{{- $text := regexReplaceAll "(?m)^dag_bundle_(config_list|storage_path) = .*\n" (include "airflow.config.cfg" (dict "context" .context)) "" -}}
{{- with .context.Values.airflowLocalSettings }}{{ $text = printf "%s\n# airflow_local_settings.py\n%s" $text . }}{{ end -}}
{{- $text | sha256sum -}}
{{- end -}}

{{/*
The rendered worker pod template: workers.podTemplate (a map or a string) when set, else files/pod-template.yaml;
either runs through tpl with the root context. A custom template is checked like the default one is by the
executor: it must parse as YAML, be `apiVersion: v1` / `kind: Pod`, and have a container named `base` (where the
executor puts the task command); otherwise the render fails naming workers.podTemplate.
Usage:
  {{ include "airflow.podTemplate" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.podTemplate" -}}
{{- $root := .context -}}
{{- $custom := $root.Values.workers.podTemplate -}}
{{- if $custom -}}
{{- $text := tpl (kindIs "string" $custom | ternary $custom (toYaml $custom)) $root -}}
{{- $pod := fromYaml $text -}}
{{- if hasKey $pod "Error" -}}
{{- fail (printf "workers.podTemplate is not valid YAML after tpl (%s): give a complete Pod manifest (apiVersion: v1, kind: Pod, spec.containers with a container named base)" $pod.Error) -}}
{{- end -}}
{{- if or (ne (toString $pod.kind) "Pod") (ne (toString $pod.apiVersion) "v1") -}}
{{- fail (printf "workers.podTemplate must be a Pod manifest (apiVersion: v1, kind: Pod), got apiVersion %q kind %q: the KubernetesExecutor reads it as a V1Pod" (toString $pod.apiVersion) (toString $pod.kind)) -}}
{{- end -}}
{{- $names := list -}}
{{- range (dig "spec" "containers" list $pod) }}{{ if kindIs "map" . }}{{ $names = append $names (toString .name) }}{{ end }}{{ end -}}
{{- if not (has "base" $names) -}}
{{- fail (printf "workers.podTemplate has no container named base (containers: %s): the KubernetesExecutor runs the task in the container named base; rename your main container to base" (join ", " $names | default "none")) -}}
{{- end -}}
{{- $text -}}
{{- else -}}
{{- tpl ($root.Files.Get "files/pod-template.yaml") $root -}}
{{- end -}}
{{- end -}}
