{{/* Volumes and mounts. Roles: "component" (long-running), "worker" (task pod), "dagWriter" (git-sync). */}}

{{/* The dags volume, or nothing when DAGs are baked into the image. */}}
{{- define "airflow.volume.dags" -}}
{{- if .Values.dags.persistence.enabled }}
- name: dags
  persistentVolumeClaim:
    claimName: {{ include "airflow.dags.claimName" . }}
{{- else if .Values.dags.gitSync.enabled }}
- name: dags
  emptyDir: {}
{{- end }}
{{- end -}}

{{- define "airflow.volumeMount.dags" -}}
{{- if or .Values.dags.persistence.enabled .Values.dags.gitSync.enabled }}
- name: dags
  mountPath: {{ .Values.dags.mountPath }}
  readOnly: true
  {{- if and .Values.dags.persistence.enabled .Values.dags.persistence.subPath }}
  subPath: {{ .Values.dags.persistence.subPath }}
  {{- end }}
{{- end }}
{{- end -}}

{{- define "airflow.volume.logs" -}}
- name: logs
{{- if .Values.logs.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "airflow.logs.claimName" . }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end -}}

{{- define "airflow.volumeMount.logs" -}}
- name: logs
  mountPath: {{ .Values.logs.mountPath }}
  {{- if and .Values.logs.persistence.enabled .Values.logs.persistence.subPath }}
  subPath: {{ .Values.logs.persistence.subPath }}
  {{- end }}
{{- end -}}

{{/* airflow.cfg + writable /tmp: every Airflow pod. */}}
{{- define "airflow.volume.base" -}}
- name: config
  configMap:
    name: {{ include "airflow.configMapName" . }}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "airflow.volumeMount.base" -}}
- name: config
  mountPath: {{ include "airflow.paths.configDir" . }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Volumes git-sync needs besides dags: its own /tmp (HOME), the ssh key and known_hosts. */}}
{{- define "airflow.volume.gitSync" -}}
- name: git-sync-tmp
  emptyDir: {}
{{- if .Values.dags.gitSync.sshKeySecret }}
- name: git-ssh-key
  secret:
    secretName: {{ .Values.dags.gitSync.sshKeySecret }}
    defaultMode: 0440
    items:
      - key: {{ .Values.dags.gitSync.sshKeySecretKey }}
        path: ssh
{{- end }}
{{- if .Values.dags.gitSync.knownHosts }}
- name: git-known-hosts
  configMap:
    name: {{ include "airflow.knownHostsConfigMapName" . }}
{{- end }}
{{- end -}}
