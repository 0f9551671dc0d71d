{{/* Metrics: the StatsD exporter's names, the [metrics]/[traces] config of every Airflow process, OTel env. */}}

{{/*
Name of the StatsD exporter's objects (Deployment, Service, ConfigMap, ServiceMonitor): <fullname>-statsd.
Usage:
  {{ include "airflow.metrics.exporterName" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.metrics.exporterName" -}}
{{ include "airflow.componentName" (dict "suffix" "statsd" "context" .context) }}
{{- end -}}

{{/*
Host the Airflow processes send StatsD to: the exporter Service's cluster DNS name, namespace-qualified (task pods
may run in kubernetesExecutor.namespace).
Usage:
  {{ include "airflow.metrics.statsdHost" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.metrics.statsdHost" -}}
{{ printf "%s.%s.svc" (include "airflow.metrics.exporterName" (dict "context" .context)) .context.Release.Namespace }}
{{- end -}}

{{/*
TCP port of an http(s) URL: its explicit port, else 80 / 443.
Usage:
  {{ include "airflow.metrics.urlPort" (dict "url" "http://otel:4318/v1/metrics") }}
Params:
  - url - String - Required. An http:// or https:// URL.
*/}}
{{- define "airflow.metrics.urlPort" -}}
{{- $u := urlParse .url -}}
{{- $hostPort := splitList ":" $u.host -}}
{{- if gt (len $hostPort) 1 -}}{{ last $hostPort }}{{- else if eq $u.scheme "https" -}}443{{- else -}}80{{- end -}}
{{- end -}}

{{/*
The [metrics] and [traces] sections the chart adds to airflow.cfg (YAML: section -> key -> value, part of
airflow.config.defaults, so the user's `config` wins). Every Airflow process reads them, task pods included (they
mount the same airflow.cfg). The OTLP endpoint, interval and service name go through the OpenTelemetry SDK's
environment (airflow.metrics.env): Airflow 3.2 deprecated [metrics] otel_host/otel_port/otel_interval_milliseconds/
otel_service/otel_ssl_active, which cannot express a URL path anyway.
Usage:
  {{ include "airflow.metrics.config" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.metrics.config" -}}
{{- $root := .context -}}
{{- $m := $root.Values.metrics -}}
{{- if or $m.enabled $m.otel.enabled }}
metrics:
  {{- if $m.enabled }}
  statsd_on: "True"
  statsd_host: {{ include "airflow.metrics.statsdHost" (dict "context" $root) }}
  statsd_port: {{ $m.service.statsdPort | quote }}
  statsd_prefix: {{ $m.prefix }}
  {{- end }}
  {{- if $m.otel.enabled }}
  otel_on: "True"
  otel_prefix: {{ $m.otel.prefix }}
  {{- end }}
{{- end }}
{{- if $m.otel.traces.enabled }}
traces:
  otel_on: "True"
{{- end }}
{{- end -}}

{{/*
Environment of every Airflow container (task pods included) for OpenTelemetry: the OTLP/HTTP endpoints, protocol,
export interval, service name and the pod name as service.instance.id (the SDK's standard variables, which
Airflow 3.3 reads first).
Usage:
  {{ include "airflow.metrics.env" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.metrics.env" -}}
{{- $o := .context.Values.metrics.otel -}}
{{- if or $o.enabled $o.traces.enabled }}
- name: OTEL_SERVICE_NAME
  value: {{ $o.serviceName | quote }}
{{- /* one series per process: without service.instance.id every task pod would overwrite the same cumulative
       series in the receiver (Prometheus: the `instance` label) */}}
- name: AIRKUBE_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: OTEL_RESOURCE_ATTRIBUTES
  value: service.instance.id=$(AIRKUBE_POD_NAME)
{{- end }}
{{- if $o.enabled }}
- name: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT
  value: {{ $o.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_METRICS_PROTOCOL
  value: http/protobuf
- name: OTEL_METRIC_EXPORT_INTERVAL
  value: {{ $o.intervalMilliseconds | quote }}
{{- end }}
{{- if $o.traces.enabled }}
- name: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
  value: {{ $o.traces.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
  value: http/protobuf
{{- end }}
{{- end -}}

{{/*
TCP ports of the OTLP endpoints every Airflow pod may reach when networkPolicies.enabled (JSON list).
Usage:
  {{ include "airflow.metrics.otelPorts" (dict "context" $) | fromJsonArray }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.metrics.otelPorts" -}}
{{- $o := .context.Values.metrics.otel -}}
{{- $ports := list -}}
{{- if and $o.enabled $o.endpoint }}{{ $ports = append $ports (int (include "airflow.metrics.urlPort" (dict "url" $o.endpoint))) }}{{ end -}}
{{- if and $o.traces.enabled $o.traces.endpoint }}{{ $ports = append $ports (int (include "airflow.metrics.urlPort" (dict "url" $o.traces.endpoint))) }}{{ end -}}
{{- $ports | uniq | toJson -}}
{{- end -}}

{{/*
The exporter's mapping config (files/statsd-mappings.yaml through tpl, metrics.statsdExporter.extraMappings first,
defaults: timers as histograms, series ttl) as YAML.
Usage:
  {{ include "airflow.metrics.mappingConfig" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.metrics.mappingConfig" -}}
{{- $root := .context -}}
{{- $e := $root.Values.metrics.statsdExporter -}}
{{- $chart := tpl ($root.Files.Get "files/statsd-mappings.yaml") $root | fromYaml -}}
{{- $defaults := dict "observer_type" "histogram" "ttl" $e.ttl
      "histogram_options" (dict "buckets" (list 0.05 0.1 0.25 0.5 1 2.5 5 10 30 60 120 300 600)) -}}
{{- toYaml (dict "defaults" $defaults "mappings" (concat $e.extraMappings $chart.mappings)) -}}
{{- end -}}

{{/*
Pod / container securityContext of the exporter: the chart's defaults, the image's nobody user (65534), then
metrics.statsdExporter.securityContexts.
Usage:
  {{ include "airflow.metrics.podSecurityContext" (dict "context" $) }}
  {{ include "airflow.metrics.containerSecurityContext" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.metrics.podSecurityContext" -}}
{{- $v := .context.Values -}}
{{- $sc := mustMergeOverwrite (deepCopy $v.podSecurityContext) (dict "runAsUser" 65534 "runAsGroup" 65534 "fsGroup" 65534) (deepCopy (default dict $v.metrics.statsdExporter.securityContexts.pod)) -}}
{{- toYaml $sc -}}
{{- end -}}

{{- define "airflow.metrics.containerSecurityContext" -}}
{{- $v := .context.Values -}}
{{- $sc := mustMergeOverwrite (deepCopy $v.containerSecurityContext) (dict "runAsUser" 65534 "runAsGroup" 65534) (deepCopy (default dict $v.metrics.statsdExporter.securityContexts.container)) -}}
{{- toYaml $sc -}}
{{- end -}}
