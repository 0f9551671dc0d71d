{{/*
The Deployment shared by the long-running components.
Usage:
  {{ include "airflow.component.deployment" (dict "component" "scheduler" "values" .Values.scheduler "args" (list "scheduler") "probe" $probe "automount" true "context" $) }}
Params:
  - component - String - Required. Component label and name suffix (api-server, scheduler, dag-processor, triggerer).
  - values - Dict - Required. The component's values block (same shape for every component).
  - args - List - Required. Container args (run through the image entrypoint).
  - probe - String - Required. Probe handler YAML (httpGet/exec) of the liveness and startup probes.
  - readinessProbe - String - Optional. Readiness probe handler YAML (default: probe); a different check than liveness.
  - automount - Bool - Required. Mount the service-account token (only components that talk to the Kubernetes API).
  - ports - List - Optional. ContainerPorts.
  - extraInit - String - Optional. Extra init containers YAML.
  - extraVolumes - String - Optional. Extra volumes YAML list.
  - extraMounts - String - Optional. Extra volume mounts YAML list.
  - extraAnnotations - Dict - Optional. Extra pod annotations (e.g. checksums).
  - extraEnv - String - Optional. Extra env YAML list of the main container (e.g. the bundle connections).
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.component.deployment" -}}
{{- $root := .context -}}
{{- $c := .values -}}
{{- $component := .component -}}
{{- $readsDags := include "airflow.component.readsDags" (dict "component" $component) -}}
{{- $sidecar := include "airflow.component.gitSyncSidecar" (dict "component" $component "context" $root) -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "airflow.componentName" (dict "suffix" $component "context" $root) }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "airflow.labels" (dict "component" $component "labels" $c.labels "context" $root) | nindent 4 }}
  annotations:
    {{- $skips := list "CKV_K8S_15" "CKV_K8S_43" "CKV_K8S_35" "CKV2_K8S_6" }}
    {{- if .automount }}{{ $skips = append $skips "CKV_K8S_38" }}{{ end }}
    {{- if has $component (list "dag-processor" "triggerer") }}{{ $skips = concat $skips (list "CKV_K8S_8" "CKV_K8S_9") }}{{ end }}
    {{- include "airflow.checkov.skips" (dict "checks" $skips "context" $root) | nindent 4 }}
    {{- with $c.annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  {{- if not (and $c.autoscaling $c.autoscaling.enabled) }}
  replicas: {{ int $c.replicas }}
  {{- end }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- include "airflow.selectorLabels" (dict "component" $component "context" $root) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "airflow.labels" (dict "component" $component "labels" $c.labels "context" $root) | nindent 8 }}
      annotations:
        {{- include "airflow.checksumAnnotations" (dict "context" $root) | nindent 8 }}
        {{- with .extraAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- with $c.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "airflow.serviceAccountName" (dict "component" $component "serviceAccount" $c.serviceAccount "context" $root) }}
      automountServiceAccountToken: {{ .automount }}
      {{- include "airflow.imagePullSecrets" (dict "context" $root) | nindent 6 }}
      securityContext:
        {{- include "airflow.podSecurityContext" (dict "values" $c "context" $root) | nindent 8 }}
      {{- include "airflow.scheduling" (dict "values" $c) | nindent 6 }}
      {{- include "airflow.component.placement" (dict "component" $component "values" $c "context" $root) | nindent 6 }}
      {{- with include "airflow.component.initContainers" . | trim }}
      initContainers:
        {{- . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $component }}
          image: {{ include "airflow.image" (dict "context" $root) }}
          imagePullPolicy: {{ $root.Values.images.airflow.pullPolicy }}
          args: {{ toJson .args }}
          env:
            {{- include "airflow.env.component" (dict "component" $component "values" $c "context" $root) | nindent 12 }}
            {{- with .extraEnv }}
            {{- . | nindent 12 }}
            {{- end }}
          {{- include "airflow.envFrom" (dict "context" $root) | nindent 10 }}
          {{- with .ports }}
          ports:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- include "airflow.probes" (dict "values" $c "handler" .probe "readinessHandler" .readinessProbe) | nindent 10 }}
          resources:
            {{- toYaml $c.resources | nindent 12 }}
          securityContext:
            {{- include "airflow.containerSecurityContext" (dict "values" $c "context" $root) | nindent 12 }}
          volumeMounts:
            {{- include "airflow.volumeMount.base" (dict "context" $root) | nindent 12 }}
            {{- include "airflow.volumeMount.logs" (dict "context" $root) | nindent 12 }}
            {{- if $readsDags }}
            {{- include "airflow.volumeMount.dags" (dict "context" $root) | nindent 12 }}
            {{- end }}
            {{- with .extraMounts }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- with $c.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
        {{- if $sidecar }}
        {{- include "airflow.container.gitSync" (dict "mode" "sidecar" "context" $root) | nindent 8 }}
        {{- end }}
        {{- include "airflow.component.extraContainers" (dict "containers" $c.extraContainers "context" $root) | nindent 8 }}
      volumes:
        {{- include "airflow.volume.base" (dict "context" $root) | nindent 8 }}
        {{- include "airflow.volume.logs" (dict "context" $root) | nindent 8 }}
        {{- if $readsDags }}
        {{- include "airflow.volume.dags" (dict "context" $root) | nindent 8 }}
        {{- if $sidecar }}
        {{- include "airflow.volume.gitSync" (dict "context" $root) | nindent 8 }}
        {{- end }}
        {{- end }}
        {{- with .extraVolumes }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with $c.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
{{- end -}}

{{/*
ServiceAccount of a component (nothing unless serviceAccount.create).
Usage:
  {{ include "airflow.component.serviceAccount" (dict "component" "scheduler" "serviceAccount" .Values.scheduler.serviceAccount "automount" true "context" $) }}
Params:
  - component - String - Required. Component name.
  - serviceAccount - Dict - Required. The component's serviceAccount values (create, name, annotations).
  - automount - Bool - Required. automountServiceAccountToken of the ServiceAccount.
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.component.serviceAccount" -}}
{{- $root := .context -}}
{{- $component := .component -}}
{{- $sa := .serviceAccount -}}
{{- if $sa.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "airflow.serviceAccountName" (dict "component" $component "serviceAccount" $sa "context" $root) }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "airflow.labels" (dict "component" $component "context" $root) | nindent 4 }}
  {{- with $sa.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: {{ .automount }}
{{- end }}
{{- end -}}

{{/*
Init containers of a component: extraInit (the chart's own, which never need the schema: they run while the
migration Job works), wait-for-migrations (when migrations.enabled), then the user's extraInitContainers.
Usage:
  {{ include "airflow.component.initContainers" (dict "values" .Values.scheduler "extraInit" $yaml "context" $) }}
Params:
  - values - Dict - Required. The component's values block.
  - extraInit - String - Optional. Extra init containers YAML.
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.component.initContainers" -}}
{{- with .extraInit }}
{{ . }}
{{- end }}
{{- if .context.Values.migrations.enabled }}
{{ include "airflow.container.waitForMigrations" (dict "values" .values "context" .context) }}
{{- end }}
{{- with include "airflow.component.extraContainers" (dict "containers" .values.extraInitContainers "context" .context) | trim }}
{{ . }}
{{- end }}
{{- end -}}
