{{/*
Pod spec of the migration Job: `airflow db migrate` (and, with the FAB auth manager, the admin user).
Usage:
  {{- include "airflow.migrations.podSpec" (dict "context" $) | nindent 6 }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.migrations.podSpec" -}}
{{- $root := .context -}}
{{- $m := $root.Values.migrations -}}
{{- $c := dict "securityContexts" (dict "pod" dict "container" dict) -}}
restartPolicy: OnFailure
serviceAccountName: {{ include "airflow.serviceAccountName" (dict "component" "migrations" "serviceAccount" $m.serviceAccount "context" $root) }}
automountServiceAccountToken: false
{{- include "airflow.imagePullSecrets" (dict "context" $root) }}
securityContext:
  {{- include "airflow.podSecurityContext" (dict "values" $c "context" $root) | nindent 2 }}
{{- include "airflow.scheduling" (dict "values" $m) }}
{{- if eq $m.waitCheck "script" }}
initContainers:
  {{- include "airflow.container.migrationsWait" (dict "name" "wait-for-database" "values" $c "context" $root) | nindent 2 }}
{{- end }}
containers:
  - name: migrate
    image: {{ include "airflow.image" (dict "context" $root) }}
    imagePullPolicy: {{ $root.Values.images.airflow.pullPolicy }}
    {{- if eq $root.Values.auth.manager "fab" }}
    {{- $u := first $root.Values.auth.users }}
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
      {{- include "airflow.env.common" (dict "context" $root) | nindent 6 }}
      {{- include "airflow.env.database" (dict "context" $root) | trim | nindent 6 }}
      {{- include "airflow.env.migrationsWait" (dict "context" $root) | nindent 6 }}
      - name: AIRFLOW__CORE__FERNET_KEY
        valueFrom:
          secretKeyRef:
            {{- include "airflow.secretRef" (dict "secret" "fernetKey" "context" $root) | nindent 12 }}
      {{- if eq $root.Values.auth.manager "fab" }}
      - name: AIRFLOW_ADMIN_PASSWORD
        valueFrom:
          secretKeyRef:
            name: {{ include "airflow.authSecretName" (dict "context" $root) }}
            key: {{ $root.Values.auth.passwordKey }}
      {{- end }}
      {{- with $m.extraEnv }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    {{- include "airflow.envFrom" (dict "context" $root) | nindent 4 }}
    resources:
      {{- toYaml $m.resources | nindent 6 }}
    securityContext:
      {{- include "airflow.containerSecurityContext" (dict "values" $c "context" $root) | nindent 6 }}
    volumeMounts:
      {{- include "airflow.volumeMount.base" (dict "context" $root) | nindent 6 }}
volumes:
  {{- include "airflow.volume.base" (dict "context" $root) | nindent 2 }}
{{- end -}}
