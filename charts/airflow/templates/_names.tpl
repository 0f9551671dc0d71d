{{/* Object names. Every name is derived here; templates never build names themselves. */}}

{{/*
Chart name (nameOverride wins), at most 63 characters.
Usage:
  {{ include "airflow.name" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.name" -}}
{{- default .context.Chart.Name .context.Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
<release> when it already contains the chart name, else <release>-<chart>; fullnameOverride wins.
Usage:
  {{ include "airflow.fullname" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.fullname" -}}
{{- $root := .context -}}
{{- if $root.Values.fullnameOverride -}}
{{- $root.Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default $root.Chart.Name $root.Values.nameOverride -}}
{{- if contains $name $root.Release.Name -}}
{{- $root.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" $root.Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
<fullname>-<suffix>, kept within 63 characters.
Usage:
  {{ include "airflow.componentName" (dict "suffix" "scheduler" "context" $) }}
Params:
  - suffix - String - Required. Name suffix (component or object role).
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.componentName" -}}
{{- printf "%s-%s" (include "airflow.fullname" (dict "context" .context) | trunc (int (sub 62 (len .suffix))) | trimSuffix "-") .suffix -}}
{{- end -}}

{{/*
helm.sh/chart label value: <chart>-<version>.
Usage:
  {{ include "airflow.chart" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.chart" -}}
{{- printf "%s-%s" .context.Chart.Name .context.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Service account of a component: the created one (<fullname>-<component> unless named) or the named/default one.
Usage:
  {{ include "airflow.serviceAccountName" (dict "component" "scheduler" "serviceAccount" .Values.scheduler.serviceAccount "context" $) }}
Params:
  - component - String - Required. Component name (api-server, scheduler, dag-processor, triggerer, worker, migrations).
  - serviceAccount - Dict - Required. The component's serviceAccount values (create, name).
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.serviceAccountName" -}}
{{- if .serviceAccount.create -}}
{{- default (include "airflow.componentName" (dict "suffix" .component "context" .context)) .serviceAccount.name -}}
{{- else -}}
{{- default "default" .serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Names of the chart's Services, ConfigMaps, Secrets and Roles (<fullname>-<role>).
Usage:
  {{ include "airflow.apiServer.serviceName" (dict "context" $) }}
  (likewise airflow.scheduler.serviceName, airflow.configMapName, airflow.podTemplateConfigMapName,
  airflow.knownHostsConfigMapName, airflow.secretsName, airflow.authSecretName, airflow.podLauncherRoleName)
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.apiServer.serviceName" -}}{{ include "airflow.componentName" (dict "suffix" "api-server" "context" .context) }}{{- end -}}
{{- define "airflow.scheduler.serviceName" -}}{{ include "airflow.componentName" (dict "suffix" "scheduler" "context" .context) }}{{- end -}}
{{- define "airflow.configMapName" -}}{{ include "airflow.componentName" (dict "suffix" "config" "context" .context) }}{{- end -}}
{{- define "airflow.podTemplateConfigMapName" -}}{{ include "airflow.componentName" (dict "suffix" "pod-template" "context" .context) }}{{- end -}}
{{- define "airflow.knownHostsConfigMapName" -}}{{ include "airflow.componentName" (dict "suffix" "git-known-hosts" "context" .context) }}{{- end -}}
{{- define "airflow.secretsName" -}}{{ include "airflow.componentName" (dict "suffix" "keys" "context" .context) }}{{- end -}}
{{- define "airflow.authSecretName" -}}{{ default (include "airflow.componentName" (dict "suffix" "auth" "context" .context)) .context.Values.auth.existingSecret }}{{- end -}}
{{- define "airflow.podLauncherRoleName" -}}{{ include "airflow.componentName" (dict "suffix" "pod-launcher" "context" .context) }}{{- end -}}

{{/*
Namespace task pods run in: kubernetesExecutor.namespace, else the release namespace.
Usage:
  {{ include "airflow.workerNamespace" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.workerNamespace" -}}{{ default .context.Release.Namespace .context.Values.kubernetesExecutor.namespace }}{{- end -}}

{{/*
Bundled PostgreSQL: Service and Secret names follow the postgres chart's contract (<release>-postgres).
Usage:
  {{ include "airflow.postgres.fullname" (dict "context" $) }}
  {{ include "airflow.postgres.secretName" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.postgres.fullname" -}}
{{- $root := .context -}}
{{- if $root.Values.postgres.fullnameOverride -}}
{{- tpl $root.Values.postgres.fullnameOverride $root | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-postgres" $root.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "airflow.postgres.secretName" -}}
{{- $root := .context -}}
{{- if $root.Values.postgres.auth.existingSecret -}}
{{- tpl $root.Values.postgres.auth.existingSecret $root -}}
{{- else -}}
{{- include "airflow.postgres.fullname" (dict "context" $root) -}}
{{- end -}}
{{- end -}}

{{/*
Claims of the dags and logs volumes: the existing claim (tpl-evaluated) or <fullname>-dags / <fullname>-logs.
Usage:
  {{ include "airflow.dags.claimName" (dict "context" $) }}
  {{ include "airflow.logs.claimName" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.dags.claimName" -}}
{{- default (include "airflow.componentName" (dict "suffix" "dags" "context" .context)) (tpl .context.Values.dags.persistence.existingClaim .context) -}}
{{- end -}}
{{- define "airflow.logs.claimName" -}}
{{- default (include "airflow.componentName" (dict "suffix" "logs" "context" .context)) (tpl .context.Values.logs.persistence.existingClaim .context) -}}
{{- end -}}

{{/*
Namespace of KubernetesPodOperator pods: kubernetesPodOperator.namespace, else <release namespace>-kpo. Fails when
it is the release or the task-pod namespace: task pods may manage pods there, which must never include the
components' pods.
Usage:
  {{ include "airflow.kpoNamespace" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.kpoNamespace" -}}
{{- $root := .context -}}
{{- $ns := default (printf "%s-kpo" $root.Release.Namespace | trunc 63 | trimSuffix "-") $root.Values.kubernetesPodOperator.namespace -}}
{{- if or (eq $ns $root.Release.Namespace) (eq $ns (include "airflow.workerNamespace" (dict "context" $root))) -}}
{{- fail (printf "kubernetesPodOperator.namespace is %q, the namespace of the release or of its task pods: task pods may create and exec into pods in the KubernetesPodOperator namespace, so use a namespace of its own (e.g. %s-kpo)" $ns $root.Release.Namespace) -}}
{{- end -}}
{{- $ns -}}
{{- end -}}

{{/*
TCP ports task pods may reach anywhere, as a JSON list: networkPolicies.workerEgressPorts plus what their
features need — git-sync init container (22, 443), remote logs (443 and the endpointUrl port),
KubernetesPodOperator (kubernetesPodOperator.apiServerPorts).
Usage:
  {{ include "airflow.networkPolicies.workerPorts" (dict "context" $) | fromJsonArray }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.networkPolicies.workerPorts" -}}
{{- $v := .context.Values -}}
{{- $ports := list -}}
{{- range $v.networkPolicies.workerEgressPorts }}{{ $ports = append $ports (int .) }}{{ end -}}
{{- if and $v.dags.gitSync.enabled (not $v.dags.persistence.enabled) }}{{ $ports = concat $ports (list 22 443) }}{{ end -}}
{{- $ports = concat $ports (include "airflow.bundles.ports" (dict "context" .context) | fromJsonArray) -}}
{{- if $v.logs.remote.enabled -}}
{{- $ports = append $ports 443 -}}
{{- with $v.logs.remote.endpointUrl -}}
{{- $u := urlParse . -}}
{{- $hostPort := splitList ":" $u.host -}}
{{- $ports = append $ports (ternary (int (last $hostPort)) (ternary 443 80 (eq $u.scheme "https")) (gt (len $hostPort) 1)) -}}
{{- end -}}
{{- end -}}
{{- if $v.kubernetesPodOperator.enabled }}{{ range $v.kubernetesPodOperator.apiServerPorts }}{{ $ports = append $ports (int .) }}{{ end }}{{ end -}}
{{- $ports | uniq | sortAlpha | toJson -}}
{{- end -}}
