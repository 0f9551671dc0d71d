{{/* Images */}}
{{- define "airflow.image" -}}
{{- printf "%s:%s" .Values.images.airflow.repository (toString .Values.images.airflow.tag) -}}
{{- end -}}

{{- define "airflow.gitSync.image" -}}
{{- printf "%s:%s" .Values.images.gitSync.repository (toString .Values.images.gitSync.tag) -}}
{{- end -}}

{{- define "airflow.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
