{{/* Security contexts: chart-wide defaults with the component's override merged over them. */}}

{{/* Call with (list $ componentValues). */}}
{{- define "airflow.podSecurityContext" -}}
{{- $root := index . 0 -}}
{{- $c := index . 1 -}}
{{- $ctx := mustMergeOverwrite (deepCopy $root.Values.podSecurityContext) (deepCopy (default dict $c.securityContexts.pod)) -}}
{{- toYaml $ctx -}}
{{- end -}}

{{- define "airflow.containerSecurityContext" -}}
{{- $root := index . 0 -}}
{{- $c := index . 1 -}}
{{- $ctx := mustMergeOverwrite (deepCopy $root.Values.containerSecurityContext) (deepCopy (default dict $c.securityContexts.container)) -}}
{{- toYaml $ctx -}}
{{- end -}}

{{/* git-sync runs as its image's own user (65533, present in the image's /etc/passwd, which ssh needs);
     the pod's fsGroup (0) lets it write the group-0 volume and Airflow (uid 50000, gid 0) read it. */}}
{{- define "airflow.gitSync.securityContext" -}}
{{- $ctx := mustMergeOverwrite (deepCopy .Values.containerSecurityContext) (dict "runAsUser" 65533 "runAsGroup" 65533 "runAsNonRoot" true) -}}
{{- toYaml $ctx -}}
{{- end -}}
