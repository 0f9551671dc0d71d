{{/* Pod spec of the migration Job: `airflow db migrate` (and, with the FAB auth manager, the admin user). */}}
{{- define "airflow.migrations.podSpec" -}}
{{- $m := .Values.migrations -}}
{{- $c := dict "securityContexts" (dict "pod" dict "container" dict) -}}
restartPolicy: OnFailure
serviceAccountName: {{ include "airflow.serviceAccountName" (list . "migrations" $m.serviceAccount) }}
automountServiceAccountToken: false
{{- include "airflow.imagePullSecrets" . }}
securityContext:
  {{- include "airflow.podSecurityContext" (list . $c) | nindent 2 }}
{{- include "airflow.scheduling" $m }}
containers:
  - name: migrate
    image: {{ include "airflow.image" . }}
    imagePullPolicy: {{ .Values.images.airflow.pullPolicy }}
    {{- if eq .Values.auth.manager "fab" }}
    {{- $u := first .Values.auth.users }}
    args:
      - bash
      - -c
      - >-
        airflow db migrate &&
        (airflow users create --role Admin --username {{ $u.username | quote }} --password "$AIRFLOW_ADMIN_PASSWORD"
        --email {{ printf "%s@example.com" $u.username | quote }} --firstname {{ $u.username | quote }} --lastname admin
        || airflow users reset-password --username {{ $u.username | quote }} --password "$AIRFLOW_ADMIN_PASSWORD")
    {{- else }}
    args: ["airflow", "db", "migrate"]
    {{- end }}
    env:
      {{- include "airflow.env.common" . | nindent 6 }}
      {{- include "airflow.env.database" . | trim | nindent 6 }}
      - name: AIRFLOW__CORE__FERNET_KEY
        valueFrom:
          secretKeyRef:
            {{- include "airflow.secretRef" (list . "fernetKey") | nindent 12 }}
      {{- if eq .Values.auth.manager "fab" }}
      - name: AIRFLOW_ADMIN_PASSWORD
        valueFrom:
          secretKeyRef:
            name: {{ include "airflow.authSecretName" . }}
            key: {{ .Values.auth.passwordKey }}
      {{- end }}
      {{- with $m.extraEnv }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    {{- include "airflow.envFrom" . | nindent 4 }}
    resources:
      {{- toYaml $m.resources | nindent 6 }}
    securityContext:
      {{- include "airflow.containerSecurityContext" (list . $c) | nindent 6 }}
    volumeMounts:
      {{- include "airflow.volumeMount.base" . | nindent 6 }}
volumes:
  {{- include "airflow.volume.base" . | nindent 2 }}
{{- end -}}
