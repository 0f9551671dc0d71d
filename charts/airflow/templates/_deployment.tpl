{{/*
The Deployment shared by the long-running components. Each component file (e.g. scheduler/scheduler-deployment.yaml)
calls it with a dict:
  root        the top-level context ($)
  component   component label and name suffix (api-server, scheduler, dag-processor, triggerer)
  values      the component's values block (same shape for every component)
  args        container args (run through the image entrypoint)
  ports       list of ContainerPort (optional)
  probe       probe handler YAML (httpGet/exec)
  automount   mount the service-account token (only components that talk to the Kubernetes API)
  extraInit   extra init containers YAML (optional)
  extraVolumes / extraMounts   YAML lists (optional)
  extraAnnotations   extra checksum annotations (optional map)
*/}}
{{- define "airflow.component.deployment" -}}
{{- $root := .root -}}
{{- $c := .values -}}
{{- $component := .component -}}
{{- $readsDags := include "airflow.component.readsDags" $component -}}
{{- $sidecar := include "airflow.component.gitSyncSidecar" (list $root $component) -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "airflow.componentName" (list $root $component) }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "airflow.labels" (list $root $component $c.labels) | nindent 4 }}
  annotations:
    {{- $skips := list $root "CKV_K8S_15" "CKV_K8S_43" "CKV_K8S_35" "CKV2_K8S_6" }}
    {{- if .automount }}{{ $skips = append $skips "CKV_K8S_38" }}{{ end }}
    {{- if has $component (list "dag-processor" "triggerer") }}{{ $skips = concat $skips (list "CKV_K8S_8" "CKV_K8S_9") }}{{ end }}
    {{- include "airflow.checkov.skips" $skips | nindent 4 }}
    {{- with $c.annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  replicas: {{ int $c.replicas }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- include "airflow.selectorLabels" (list $root $component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "airflow.labels" (list $root $component $c.labels) | nindent 8 }}
      annotations:
        {{- include "airflow.checksumAnnotations" $root | nindent 8 }}
        {{- with .extraAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- with $c.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "airflow.serviceAccountName" (list $root $component $c.serviceAccount) }}
      automountServiceAccountToken: {{ .automount }}
      {{- include "airflow.imagePullSecrets" $root | nindent 6 }}
      securityContext:
        {{- include "airflow.podSecurityContext" (list $root $c) | nindent 8 }}
      {{- include "airflow.scheduling" $c | nindent 6 }}
      {{- with include "airflow.component.initContainers" . | trim }}
      initContainers:
        {{- . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $component }}
          image: {{ include "airflow.image" $root }}
          imagePullPolicy: {{ $root.Values.images.airflow.pullPolicy }}
          args: {{ toJson .args }}
          env:
            {{- include "airflow.env.component" (list $root $c) | nindent 12 }}
          {{- include "airflow.envFrom" $root | nindent 10 }}
          {{- with .ports }}
          ports:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- include "airflow.probes" (list $c .probe) | nindent 10 }}
          resources:
            {{- toYaml $c.resources | nindent 12 }}
          securityContext:
            {{- include "airflow.containerSecurityContext" (list $root $c) | nindent 12 }}
          volumeMounts:
            {{- include "airflow.volumeMount.base" $root | nindent 12 }}
            {{- include "airflow.volumeMount.logs" $root | nindent 12 }}
            {{- if $readsDags }}
            {{- include "airflow.volumeMount.dags" $root | nindent 12 }}
            {{- end }}
            {{- with .extraMounts }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- with $c.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
        {{- if $sidecar }}
        {{- include "airflow.container.gitSync" (list $root "sidecar") | nindent 8 }}
        {{- end }}
      volumes:
        {{- include "airflow.volume.base" $root | nindent 8 }}
        {{- include "airflow.volume.logs" $root | nindent 8 }}
        {{- if $readsDags }}
        {{- include "airflow.volume.dags" $root | nindent 8 }}
        {{- if $sidecar }}
        {{- include "airflow.volume.gitSync" $root | nindent 8 }}
        {{- end }}
        {{- end }}
        {{- with .extraVolumes }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with $c.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
{{- end -}}

{{/* ServiceAccount of a component. Call with (list $ "component" serviceAccountValues automount). */}}
{{- define "airflow.component.serviceAccount" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
{{- $sa := index . 2 -}}
{{- if $sa.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "airflow.serviceAccountName" (list $root $component $sa) }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "airflow.labels" (list $root $component) | nindent 4 }}
  {{- with $sa.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: {{ index . 3 }}
{{- end }}
{{- end -}}

{{- define "airflow.component.initContainers" -}}
{{- if .root.Values.migrations.enabled }}
{{ include "airflow.container.waitForMigrations" (list .root .values) }}
{{- end }}
{{- with .extraInit }}
{{ . }}
{{- end }}
{{- end -}}
