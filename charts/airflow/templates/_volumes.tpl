{{/*
Volumes and mounts of the Airflow pods. Every helper here takes the root context only:
Usage:
  {{- include "airflow.volume.dags" (dict "context" $) | nindent 8 }}
  (likewise airflow.volumeMount.dags, airflow.volume.logs, airflow.volumeMount.logs, airflow.volume.base,
  airflow.volumeMount.base, airflow.volume.gitSync)
Params:
  - context - Dict - Required. The root context ($).
*/}}

{{/* The dags volume, or nothing when DAGs are baked into the image. */}}
{{- define "airflow.volume.dags" -}}
{{- $root := .context -}}
{{- if $root.Values.dags.persistence.enabled }}
- name: dags
  persistentVolumeClaim:
    claimName: {{ include "airflow.dags.claimName" (dict "context" $root) }}
{{- else if $root.Values.dags.gitSync.enabled }}
- name: dags
  emptyDir:
    sizeLimit: {{ $root.Values.dags.gitSync.emptyDirSizeLimit | quote }}
{{- end }}
{{- end -}}

{{/* Read-only mount of the dags volume (nothing when DAGs are baked into the image). */}}
{{- define "airflow.volumeMount.dags" -}}
{{- $d := .context.Values.dags -}}
{{- if or $d.persistence.enabled $d.gitSync.enabled }}
- name: dags
  mountPath: {{ $d.mountPath }}
  readOnly: true
  {{- if and $d.persistence.enabled $d.persistence.subPath }}
  subPath: {{ $d.persistence.subPath }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* The logs volume: the logs claim, or an emptyDir. */}}
{{- define "airflow.volume.logs" -}}
{{- $root := .context -}}
- name: logs
{{- if $root.Values.logs.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "airflow.logs.claimName" (dict "context" $root) }}
{{- else }}
  emptyDir:
    sizeLimit: {{ $root.Values.logs.emptyDirSizeLimit | quote }}
{{- end }}
{{- end -}}

{{- define "airflow.volumeMount.logs" -}}
{{- $l := .context.Values.logs -}}
- name: logs
  mountPath: {{ $l.mountPath }}
  {{- if and $l.persistence.enabled $l.persistence.subPath }}
  subPath: {{ $l.persistence.subPath }}
  {{- end }}
{{- end -}}

{{/* airflow.cfg + writable /tmp: every Airflow pod. */}}
{{- define "airflow.volume.base" -}}
- name: config
  configMap:
    name: {{ include "airflow.configMapName" (dict "context" .context) }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .context.Values.tmpSizeLimit | quote }}
{{- end -}}

{{- define "airflow.volumeMount.base" -}}
- name: config
  mountPath: {{ include "airflow.paths.configDir" (dict) }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Volumes git-sync needs besides dags: its own /tmp (HOME), the ssh key and known_hosts. */}}
{{- define "airflow.volume.gitSync" -}}
{{- $g := .context.Values.dags.gitSync -}}
- name: git-sync-tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if $g.sshKeySecret }}
- name: git-ssh-key
  secret:
    secretName: {{ $g.sshKeySecret }}
    defaultMode: 0440
    items:
      - key: {{ $g.sshKeySecretKey }}
        path: ssh
{{- end }}
{{- if $g.knownHosts }}
- name: git-known-hosts
  configMap:
    name: {{ include "airflow.knownHostsConfigMapName" (dict "context" .context) }}
{{- end }}
{{- end -}}
