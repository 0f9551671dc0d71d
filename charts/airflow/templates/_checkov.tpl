{{/*
checkov findings accepted on purpose, each with its reason, as a YAML map id -> reason.
Usage:
  {{ include "airflow.checkov.reasons" (dict) | fromYaml }}
Params: none.
*/}}
{{- define "airflow.checkov.reasons" -}}
CKV_K8S_15: IfNotPresent on purpose - tags are pinned and local or offline clusters import images into the node runtime (set images.*.pullPolicy to Always if you want)
CKV_K8S_43: Tags are pinned (apache/airflow 3.3.2) - registries are not reachable from every cluster to resolve a digest
CKV_K8S_35: Airflow reads fernet key, JWT secret and database URL from AIRFLOW__ environment variables - they come from secretKeyRef, never literals
CKV_K8S_38: This component talks to the Kubernetes API (executor creates task pods, triggerer watches pods, api-server reads task pod logs) - token needed
CKV2_K8S_6: NetworkPolicies are optional (networkPolicies.enabled) because CNIs differ - enable them to restrict traffic
CKV_K8S_8: Health is checked on the main container (exec job heartbeat check or HTTP); short-lived helm test pod and the git-sync sidecar (exits after maxFailures) need none
CKV_K8S_9: Serves no traffic (dag-processor, triggerer, helm test pod) - readiness would gate nothing; it is available as readinessProbe.enabled
{{- end -}}

{{/*
`checkov.io/skipN` annotation lines for the given checks, each with its reason (CKV2_K8S_6 is dropped when
networkPolicies.enabled).
Usage:
  {{ include "airflow.checkov.skips" (dict "checks" (list "CKV_K8S_15" "CKV_K8S_43") "context" $) }}
Params:
  - checks - List - Required. checkov check ids (keys of airflow.checkov.reasons).
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.checkov.skips" -}}
{{- $root := .context -}}
{{- $reasons := include "airflow.checkov.reasons" (dict) | fromYaml -}}
{{- $n := 0 -}}
{{- range $id := .checks }}
{{- if not (and (eq $id "CKV2_K8S_6") $root.Values.networkPolicies.enabled) }}
{{- $n = add1 $n }}
checkov.io/skip{{ $n }}: {{ printf "%s=%s" $id (index $reasons $id) | quote }}
{{- end }}
{{- end }}
{{- end -}}
