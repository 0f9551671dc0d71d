{{/* Security contexts: chart-wide defaults with the component's override merged over them. */}}

{{/*
Pod / container securityContext of a component: podSecurityContext / containerSecurityContext with the
component's securityContexts.pod / .container merged over them.
Usage:
  {{ include "airflow.podSecurityContext" (dict "values" .Values.scheduler "context" $) }}
  {{ include "airflow.containerSecurityContext" (dict "values" .Values.scheduler "context" $) }}
Params:
  - values - Dict - Required. The component's values block (reads securityContexts.pod / .container).
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.podSecurityContext" -}}
{{- $ctx := mustMergeOverwrite (deepCopy .context.Values.podSecurityContext) (deepCopy (default dict .values.securityContexts.pod)) -}}
{{- toYaml $ctx -}}
{{- end -}}

{{- define "airflow.containerSecurityContext" -}}
{{- $ctx := mustMergeOverwrite (deepCopy .context.Values.containerSecurityContext) (deepCopy (default dict .values.securityContexts.container)) -}}
{{- toYaml $ctx -}}
{{- end -}}

{{/*
git-sync runs as its image's own user (65533, present in the image's /etc/passwd, which ssh needs); the pod's
fsGroup (0) lets it write the group-0 volume and Airflow (uid 50000, gid 0) read it.
Usage:
  {{ include "airflow.gitSync.securityContext" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.gitSync.securityContext" -}}
{{- $ctx := mustMergeOverwrite (deepCopy .context.Values.containerSecurityContext) (dict "runAsUser" 65533 "runAsGroup" 65533 "runAsNonRoot" true) -}}
{{- toYaml $ctx -}}
{{- end -}}
