{{/* Pieces shared by the component pods: init containers, git-sync, probes, scheduling. */}}

{{/*
Init container: wait until `airflow db migrate` (the migration Job) has finished. Long-running components only.
migrations.waitCheck: `script` runs files/migrations-wait.py (mounted from the config ConfigMap), `cli` runs
`airflow db check-migrations`.
Usage:
  {{ include "airflow.container.waitForMigrations" (dict "values" .Values.scheduler "context" $) }}
Params:
  - values - Dict - Required. The component's values block (its securityContexts apply).
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.container.waitForMigrations" -}}
{{- include "airflow.container.migrationsWait" (dict "name" "wait-for-migrations" "values" .values "context" .context) -}}
{{- end -}}

{{/*
Init container running files/migrations-wait.py (migrations.waitCheck script) or the CLI: "wait-for-migrations"
waits for the schema heads, "wait-for-database" (the migration Job's) only for the database to answer.
Usage:
  {{ include "airflow.container.migrationsWait" (dict "name" "wait-for-database" "values" dict "context" $) }}
Params:
  - name - String - Required. wait-for-migrations or wait-for-database.
  - values - Dict - Required. The values block whose securityContexts apply.
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.container.migrationsWait" -}}
{{- $root := .context -}}
{{- $c := .values -}}
{{- $timeout := int $root.Values.migrations.waitTimeout }}
- name: {{ .name }}
  image: {{ include "airflow.image" (dict "context" $root) }}
  imagePullPolicy: {{ $root.Values.images.airflow.pullPolicy }}
  {{- if eq $root.Values.migrations.waitCheck "script" }}
  args: {{ toJson (concat (list "python" (include "airflow.paths.migrationsWait" (dict))) (ternary (list "--database") list (eq .name "wait-for-database")) (list (toString $timeout))) }}
  {{- else if eq .name "wait-for-database" }}
  args: ["airflow", "db", "check"]
  {{- else }}
  args: ["airflow", "db", "check-migrations", "--migration-wait-timeout={{ $timeout }}"]
  {{- end }}
  env:
    {{- include "airflow.env.common" (dict "context" $root) | nindent 4 }}
    {{- include "airflow.env.database" (dict "context" $root) | trim | nindent 4 }}
    {{- include "airflow.env.migrationsWait" (dict "context" $root) | nindent 4 }}
  {{- include "airflow.envFrom" (dict "context" $root) | nindent 2 }}
  resources:
    {{- toYaml $root.Values.migrations.resources | nindent 4 }}
  securityContext:
    {{- include "airflow.containerSecurityContext" (dict "values" $c "context" $root) | nindent 4 }}
  volumeMounts:
    {{- include "airflow.volumeMount.base" (dict "context" $root) | nindent 4 }}
{{- end -}}

{{/*
git-sync v4 container. Errors are not swallowed: after maxFailures consecutive failures the sidecar exits and the
pod restarts it; the init container fails the task pod.
Usage:
  {{ include "airflow.container.gitSync" (dict "mode" "sidecar" "context" $) }}
Params:
  - mode - String - Required. "sidecar" (keeps syncing every period) or "init" (syncs once).
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.container.gitSync" -}}
{{- $root := .context -}}
{{- $mode := .mode -}}
{{- $g := $root.Values.dags.gitSync -}}
- name: {{ ternary "git-sync-init" "git-sync" (eq $mode "init") }}
  image: {{ include "airflow.gitSync.image" (dict "context" $root) }}
  imagePullPolicy: {{ $root.Values.images.gitSync.pullPolicy }}
  env:
    - name: GITSYNC_REPO
      value: {{ $g.repo | quote }}
    - name: GITSYNC_REF
      value: {{ default $g.branch $g.rev | quote }}
    - name: GITSYNC_DEPTH
      value: {{ $g.depth | quote }}
    - name: GITSYNC_ROOT
      value: {{ $root.Values.dags.mountPath | quote }}
    - name: GITSYNC_LINK
      value: repo
    - name: GITSYNC_MAX_FAILURES
      value: {{ $g.maxFailures | quote }}
    {{- if eq $mode "init" }}
    - name: GITSYNC_ONE_TIME
      value: "true"
    {{- else }}
    - name: GITSYNC_PERIOD
      value: {{ $g.period | quote }}
    {{- end }}
    - name: HOME
      value: /tmp
    {{- if $g.credentialsSecret }}
    - name: GITSYNC_USERNAME
      valueFrom:
        secretKeyRef:
          name: {{ $g.credentialsSecret }}
          key: GITSYNC_USERNAME
    - name: GITSYNC_PASSWORD
      valueFrom:
        secretKeyRef:
          name: {{ $g.credentialsSecret }}
          key: GITSYNC_PASSWORD
    {{- end }}
    {{- if $g.sshKeySecret }}
    - name: GITSYNC_SSH_KEY_FILE
      value: /etc/git-secret/ssh
    {{- end }}
    {{- if $g.knownHosts }}
    - name: GITSYNC_SSH_KNOWN_HOSTS
      value: "true"
    - name: GITSYNC_SSH_KNOWN_HOSTS_FILE
      value: /etc/git-known-hosts/known_hosts
    {{- end }}
    {{- with $g.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  resources:
    {{- toYaml $g.resources | nindent 4 }}
  securityContext:
    {{- include "airflow.gitSync.securityContext" (dict "context" $root) | nindent 4 }}
  volumeMounts:
    - name: dags
      mountPath: {{ $root.Values.dags.mountPath }}
      {{- if and $root.Values.dags.persistence.enabled $root.Values.dags.persistence.subPath }}
      subPath: {{ $root.Values.dags.persistence.subPath }}
      {{- end }}
    - name: git-sync-tmp
      mountPath: /tmp
    {{- if $g.sshKeySecret }}
    - name: git-ssh-key
      mountPath: /etc/git-secret
      readOnly: true
    {{- end }}
    {{- if $g.knownHosts }}
    - name: git-known-hosts
      mountPath: /etc/git-known-hosts
      readOnly: true
    {{- end }}
{{- end -}}

{{/*
One probe: the handler followed by the probe's timing settings.
Usage:
  {{ include "airflow.probe" (dict "probe" .Values.scheduler.livenessProbe "handler" $handlerYaml) }}
Params:
  - probe - Dict - Required. Probe values (initialDelaySeconds, periodSeconds, timeoutSeconds, failureThreshold).
  - handler - String - Required. Probe handler YAML (httpGet: … or exec: …).
*/}}
{{- define "airflow.probe" -}}
{{- $p := .probe -}}
{{ .handler }}
initialDelaySeconds: {{ int $p.initialDelaySeconds }}
periodSeconds: {{ int $p.periodSeconds }}
timeoutSeconds: {{ int $p.timeoutSeconds }}
failureThreshold: {{ int $p.failureThreshold }}
{{- end -}}

{{/*
Probe handler of the dag-processor and the triggerer: "is this pod's job heartbeating". `script` runs
files/job-check.py (mounted from the config ConfigMap; the query of `airflow jobs check --local` without starting
Airflow), `cli` runs `airflow jobs check --job-type <jobType> --local`.
Usage:
  {{ include "airflow.probe.jobCheck" (dict "jobType" "TriggererJob" "mode" .Values.triggerer.healthCheck) }}
Params:
  - jobType - String - Required. DagProcessorJob or TriggererJob.
  - mode - String - Required. script or cli.
*/}}
{{- define "airflow.probe.jobCheck" -}}
{{- $command := list "airflow" "jobs" "check" "--job-type" .jobType "--local" -}}
{{- if eq .mode "script" -}}
{{- $command = list "python" (include "airflow.paths.jobCheck" (dict)) .jobType -}}
{{- end -}}
exec:
  command: {{ toJson $command }}
{{- end -}}

{{/*
liveness/readiness/startup probes of a component (each only when enabled).
Usage:
  {{- include "airflow.probes" (dict "values" .Values.scheduler "handler" $handlerYaml "readinessHandler" $readyYaml) | nindent 10 }}
Params:
  - values - Dict - Required. The component's values block (livenessProbe, readinessProbe, startupProbe).
  - handler - String - Required. Probe handler YAML of the liveness and startup probes.
  - readinessHandler - String - Optional. Readiness probe handler YAML (default: handler).
*/}}
{{- define "airflow.probes" -}}
{{- $c := .values -}}
{{- $handler := .handler -}}
{{- if $c.livenessProbe.enabled }}
livenessProbe:
  {{- include "airflow.probe" (dict "probe" $c.livenessProbe "handler" $handler) | nindent 2 }}
{{- end }}
{{- if $c.readinessProbe.enabled }}
readinessProbe:
  {{- include "airflow.probe" (dict "probe" $c.readinessProbe "handler" (default $handler .readinessHandler)) | nindent 2 }}
{{- end }}
{{- if $c.startupProbe.enabled }}
startupProbe:
  {{- include "airflow.probe" (dict "probe" $c.startupProbe "handler" $handler) | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
nodeSelector, affinity and tolerations of a pod spec (each only when set).
Usage:
  {{- include "airflow.scheduling" (dict "values" .Values.scheduler) | nindent 6 }}
Params:
  - values - Dict - Required. A values block with nodeSelector, affinity, tolerations.
*/}}
{{- define "airflow.scheduling" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
Annotations that roll a component when config or secrets change.
Usage:
  {{- include "airflow.checksumAnnotations" (dict "context" $) | nindent 8 }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.checksumAnnotations" -}}
checksum/config: {{ include "airflow.checksum.config" (dict "context" .context) }}
checksum/secrets: {{ include "airflow.checksum.secrets" (dict "context" .context) }}
{{- end -}}

{{/*
"true" when the component reads DAG files: dag-processor and triggerer (custom triggers live with the DAGs).
Usage:
  {{ include "airflow.component.readsDags" (dict "component" "triggerer") }}
Params:
  - component - String - Required. Component name.
*/}}
{{- define "airflow.component.readsDags" -}}
{{- if has .component (list "dag-processor" "triggerer") }}true{{ end -}}
{{- end -}}

{{/*
"true" when the component runs a git-sync sidecar: only DAG readers; with a dags PVC only the dag-processor
(the single writer).
Usage:
  {{ include "airflow.component.gitSyncSidecar" (dict "component" "dag-processor" "context" $) }}
Params:
  - component - String - Required. Component name.
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.component.gitSyncSidecar" -}}
{{- $root := .context -}}
{{- $component := .component -}}
{{- if and $root.Values.dags.gitSync.enabled (include "airflow.component.readsDags" (dict "component" $component)) -}}
{{- if or (not $root.Values.dags.persistence.enabled) (eq $component "dag-processor") }}true{{ end -}}
{{- end -}}
{{- end -}}
