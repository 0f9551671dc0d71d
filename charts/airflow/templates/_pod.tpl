{{/* Pieces shared by the component pods: init containers, git-sync, probes, scheduling. */}}

{{/* Init container: wait until `airflow db migrate` (the migration Job) has finished. Long-running components only. */}}
{{- define "airflow.container.waitForMigrations" -}}
{{- $root := index . 0 -}}
{{- $c := index . 1 -}}
- name: wait-for-migrations
  image: {{ include "airflow.image" $root }}
  imagePullPolicy: {{ $root.Values.images.airflow.pullPolicy }}
  args: ["airflow", "db", "check-migrations", "--migration-wait-timeout={{ int $root.Values.migrations.waitTimeout }}"]
  env:
    {{- include "airflow.env.common" $root | nindent 4 }}
    {{- include "airflow.env.database" $root | trim | nindent 4 }}
  {{- include "airflow.envFrom" $root | nindent 2 }}
  resources:
    {{- toYaml $root.Values.migrations.resources | nindent 4 }}
  securityContext:
    {{- include "airflow.containerSecurityContext" (list $root $c) | nindent 4 }}
  volumeMounts:
    {{- include "airflow.volumeMount.base" $root | nindent 4 }}
{{- end -}}

{{/* git-sync v4 container. Call with (list $ "sidecar") or (list $ "init"). Errors are not swallowed:
     after maxFailures consecutive failures the sidecar exits and the pod restarts it; the init container fails the task pod. */}}
{{- define "airflow.container.gitSync" -}}
{{- $root := index . 0 -}}
{{- $mode := index . 1 -}}
{{- $g := $root.Values.dags.gitSync -}}
- name: {{ ternary "git-sync-init" "git-sync" (eq $mode "init") }}
  image: {{ include "airflow.gitSync.image" $root }}
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
    {{- include "airflow.gitSync.securityContext" $root | nindent 4 }}
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

{{/* A probe from the component's settings. Call with (list probeValues handlerYaml). */}}
{{- define "airflow.probe" -}}
{{- $p := index . 0 -}}
{{ index . 1 }}
initialDelaySeconds: {{ int $p.initialDelaySeconds }}
periodSeconds: {{ int $p.periodSeconds }}
timeoutSeconds: {{ int $p.timeoutSeconds }}
failureThreshold: {{ int $p.failureThreshold }}
{{- end -}}

{{/* liveness/readiness/startup probes of a component. Call with (list componentValues handlerYaml). */}}
{{- define "airflow.probes" -}}
{{- $c := index . 0 -}}
{{- $handler := index . 1 -}}
{{- if $c.livenessProbe.enabled }}
livenessProbe:
  {{- include "airflow.probe" (list $c.livenessProbe $handler) | nindent 2 }}
{{- end }}
{{- if $c.readinessProbe.enabled }}
readinessProbe:
  {{- include "airflow.probe" (list $c.readinessProbe $handler) | nindent 2 }}
{{- end }}
{{- if $c.startupProbe.enabled }}
startupProbe:
  {{- include "airflow.probe" (list $c.startupProbe $handler) | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "airflow.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Annotations that roll a component when config or secrets change. */}}
{{- define "airflow.checksumAnnotations" -}}
checksum/config: {{ include "airflow.checksum.config" . }}
checksum/secrets: {{ include "airflow.checksum.secrets" . }}
{{- end -}}

{{/* Does this component read DAG files? dag-processor and triggerer (custom triggers live with the DAGs). */}}
{{- define "airflow.component.readsDags" -}}
{{- if has . (list "dag-processor" "triggerer") }}true{{ end -}}
{{- end -}}

{{/* git-sync sidecar here? Only DAG readers; with a dags PVC only the dag-processor (the single writer). */}}
{{- define "airflow.component.gitSyncSidecar" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
{{- if and $root.Values.dags.gitSync.enabled (include "airflow.component.readsDags" $component) -}}
{{- if or (not $root.Values.dags.persistence.enabled) (eq $component "dag-processor") }}true{{ end -}}
{{- end -}}
{{- end -}}
