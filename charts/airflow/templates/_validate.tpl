{{/*
Cross-field rules, written as sentences that name the keys. The same rules (ids, keys, messages, examples) are
listed in rules.yaml for the airkube toolkit; tests check that the two agree and that every rule fires.
Single-key checks (types, enums, formats, unknown keys) live in values.schema.json.
*/}}
{{- define "airflow.validate" -}}
{{- $v := .Values -}}
{{- $g := $v.dags.gitSync -}}
{{- $r := $v.logs.remote -}}
{{- $e := $v.externalDatabase -}}
{{- $cfg := default dict $v.config -}}
{{- $core := default dict (get $cfg "core") -}}
{{- $names := list -}}
{{- range $v.auth.users }}{{ $names = append $names .username }}{{ end -}}
{{- $errors := list -}}
{{- /* gitsync-repo-required */}}
{{- if and $g.enabled (not $g.repo) }}{{ $errors = append $errors "dags.gitSync.enabled is true but dags.gitSync.repo is empty: set dags.gitSync.repo to the git URL of your DAGs" }}{{ end -}}
{{- /* gitsync-ssh-key-required */}}
{{- if and $g.enabled (not $g.sshKeySecret) (or (hasPrefix "ssh://" (toString $g.repo)) (regexMatch "^[^/@:]+@[^/:]+:" (toString $g.repo))) }}{{ $errors = append $errors "dags.gitSync.repo is an ssh URL but dags.gitSync.sshKeySecret is empty: set dags.gitSync.sshKeySecret to a Secret holding the SSH private key (and dags.gitSync.knownHosts), or use an https URL with dags.gitSync.credentialsSecret" }}{{ end -}}
{{- /* gitsync-ssh-known-hosts */}}
{{- if and $g.enabled $g.sshKeySecret (not $g.knownHosts) }}{{ $errors = append $errors "dags.gitSync.sshKeySecret is set but dags.gitSync.knownHosts is empty: set dags.gitSync.knownHosts to the known_hosts line(s) of your git server (host keys are always verified)" }}{{ end -}}
{{- /* gitsync-one-auth */}}
{{- if and $g.enabled $g.credentialsSecret $g.sshKeySecret }}{{ $errors = append $errors "dags.gitSync.credentialsSecret and dags.gitSync.sshKeySecret are both set: use credentialsSecret for https URLs or sshKeySecret for ssh URLs, not both" }}{{ end -}}
{{- /* remote-logs-base-url-required */}}
{{- if and $r.enabled (not $r.baseUrl) }}{{ $errors = append $errors "logs.remote.enabled is true but logs.remote.baseUrl is empty: set logs.remote.baseUrl to s3://bucket/prefix or gs://bucket/prefix" }}{{ end -}}
{{- /* remote-logs-s3-url */}}
{{- if and $r.enabled $r.baseUrl (eq $r.backend "s3") (not (hasPrefix "s3://" $r.baseUrl)) }}{{ $errors = append $errors "logs.remote.backend is s3 but logs.remote.baseUrl does not start with s3://: set logs.remote.baseUrl to s3://bucket/prefix or change logs.remote.backend" }}{{ end -}}
{{- /* remote-logs-gcs-url */}}
{{- if and $r.enabled $r.baseUrl (eq $r.backend "gcs") (not (hasPrefix "gs://" $r.baseUrl)) }}{{ $errors = append $errors "logs.remote.backend is gcs but logs.remote.baseUrl does not start with gs://: set logs.remote.baseUrl to gs://bucket/prefix or change logs.remote.backend" }}{{ end -}}
{{- /* remote-logs-endpoint-s3-only */}}
{{- if and $r.enabled $r.endpointUrl (ne $r.backend "s3") }}{{ $errors = append $errors "logs.remote.endpointUrl is set but logs.remote.backend is not s3: endpointUrl is for S3-compatible servers (e.g. MinIO); remove it or set logs.remote.backend to s3" }}{{ end -}}
{{- /* database-required */}}
{{- if and (not $v.postgres.enabled) (not $e.urlSecret) (not $e.host) }}{{ $errors = append $errors "postgres.enabled is false and no external database is configured: set externalDatabase.urlSecret (a Secret with the SQLAlchemy URL) or externalDatabase.host and externalDatabase.passwordSecret, or set postgres.enabled to true" }}{{ end -}}
{{- /* database-ambiguous */}}
{{- if and $v.postgres.enabled (or $e.urlSecret $e.host) }}{{ $errors = append $errors "postgres.enabled is true and externalDatabase is also configured: set postgres.enabled to false to use the external database, or clear externalDatabase.urlSecret and externalDatabase.host" }}{{ end -}}
{{- /* external-database-url-or-host */}}
{{- if and (not $v.postgres.enabled) $e.urlSecret $e.host }}{{ $errors = append $errors "externalDatabase.urlSecret and externalDatabase.host are both set: use either a complete URL (urlSecret) or host/port/database/user with passwordSecret" }}{{ end -}}
{{- /* external-database-password */}}
{{- if and (not $v.postgres.enabled) $e.host (not $e.urlSecret) (not $e.passwordSecret) }}{{ $errors = append $errors "externalDatabase.host is set but externalDatabase.passwordSecret is empty: set externalDatabase.passwordSecret to a Secret holding the database password (key externalDatabase.passwordSecretKey)" }}{{ end -}}
{{- /* volumes-dags-claim */}}
{{- if and $v.volumes.enabled $v.dags.persistence.enabled (not $v.dags.persistence.existingClaim) }}{{ $errors = append $errors "volumes.enabled is true and dags.persistence.enabled is true but dags.persistence.existingClaim is empty: set dags.persistence.existingClaim to the claim of the volumes chart (<release>-dags)" }}{{ end -}}
{{- /* volumes-logs-claim */}}
{{- if and $v.volumes.enabled $v.logs.persistence.enabled (not $v.logs.persistence.existingClaim) }}{{ $errors = append $errors "volumes.enabled is true and logs.persistence.enabled is true but logs.persistence.existingClaim is empty: set logs.persistence.existingClaim to the claim of the volumes chart (<release>-logs)" }}{{ end -}}
{{- /* api-server-required */}}
{{- if and (not $v.apiServer.enabled) (eq $v.executor "KubernetesExecutor") }}{{ $errors = append $errors "apiServer.enabled is false but the KubernetesExecutor's task pods report through the api-server's execution API: set apiServer.enabled to true" }}{{ end -}}
{{- /* config-executor-conflict */}}
{{- if and $core.executor (ne (toString $core.executor) $v.executor) }}{{ $errors = append $errors "config.core.executor differs from executor: set the executor with the executor key and remove config.core.executor" }}{{ end -}}
{{- /* config-kubernetes-section */}}
{{- if and (hasKey $cfg "kubernetes") }}{{ $errors = append $errors "config.kubernetes is set but Airflow 3 ignores the [kubernetes] section: move these keys to config.kubernetes_executor" }}{{ end -}}
{{- /* auth-users-required */}}
{{- if and (empty $v.auth.users) }}{{ $errors = append $errors "auth.users is empty: add at least one user (username and role) so someone can log in" }}{{ end -}}
{{- /* auth-users-unique */}}
{{- if and (ne (len $names) (len (uniq $names))) }}{{ $errors = append $errors "auth.users has duplicate usernames: every auth.users[].username must be unique" }}{{ end -}}
{{- if $errors -}}
{{- fail (printf "\n%s" (join "\n" $errors)) -}}
{{- end -}}
{{- end -}}
