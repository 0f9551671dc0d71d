{{/*
Generated secrets. Each value is generated once: an upgrade reads it back from the Secret in the cluster
(`lookup`), so fernet key, api secret key, JWT secret and user passwords survive upgrades. Within one render the
values are memoised in .Values (one map shared by all templates of the chart), so the Secret and the checksum
annotations of the Deployments always see the same values, even on a first install or `helm template`.
*/}}

{{/* data map (base64 values) of <fullname>-secrets; empty map when every secret is supplied by the user. */}}
{{- define "airflow.secrets.data" -}}
{{- if not (hasKey .Values "__airkubeGeneratedSecrets") -}}
{{- $existing := dict -}}
{{- $found := lookup "v1" "Secret" .Release.Namespace (include "airflow.secretsName" .) -}}
{{- if and $found (hasKey $found "data") }}{{ $existing = $found.data }}{{ end -}}
{{- $data := dict -}}
{{- $s := .Values.secrets -}}
{{- if not $s.fernetKey.existingSecret -}}
{{- /* 32 random alphanumeric bytes, base64: a valid (url-safe decodable) 32-byte Fernet key. */ -}}
{{- $_ := set $data $s.fernetKey.key (get $existing $s.fernetKey.key | default (randAlphaNum 32 | b64enc | b64enc)) -}}
{{- end -}}
{{- if not $s.apiSecretKey.existingSecret -}}
{{- $_ := set $data $s.apiSecretKey.key (get $existing $s.apiSecretKey.key | default (randAlphaNum 48 | b64enc)) -}}
{{- end -}}
{{- if not $s.jwtSecret.existingSecret -}}
{{- $_ := set $data $s.jwtSecret.key (get $existing $s.jwtSecret.key | default (randAlphaNum 48 | b64enc)) -}}
{{- end -}}
{{- $_ := set .Values "__airkubeGeneratedSecrets" $data -}}
{{- end -}}
{{- toYaml (get .Values "__airkubeGeneratedSecrets") -}}
{{- end -}}

{{/* data map of <fullname>-auth: passwords.json + the first user's username/password; kept across upgrades. */}}
{{- define "airflow.auth.data" -}}
{{- if not (hasKey .Values "__airkubeGeneratedAuth") -}}
{{- $data := dict -}}
{{- if not .Values.auth.existingSecret -}}
{{- $old := dict -}}
{{- $found := lookup "v1" "Secret" .Release.Namespace (include "airflow.authSecretName" .) -}}
{{- if and $found (hasKey $found "data") (hasKey $found.data .Values.auth.passwordsFileKey) -}}
{{- $old = index $found.data .Values.auth.passwordsFileKey | b64dec | fromJson -}}
{{- end -}}
{{- $passwords := dict -}}
{{- range .Values.auth.users -}}
{{- $_ := set $passwords .username (get $old .username | default (randAlphaNum 20)) -}}
{{- end -}}
{{- $_ := set $data .Values.auth.passwordsFileKey (toJson $passwords | b64enc) -}}
{{- with first .Values.auth.users -}}
{{- $_ := set $data "username" (.username | b64enc) -}}
{{- $_ := set $data $.Values.auth.passwordKey (get $passwords .username | b64enc) -}}
{{- end -}}
{{- end -}}
{{- $_ := set .Values "__airkubeGeneratedAuth" $data -}}
{{- end -}}
{{- toYaml (get .Values "__airkubeGeneratedAuth") -}}
{{- end -}}

{{/* Changes whenever a secret the components read changes (generated values or the names of user Secrets). */}}
{{- define "airflow.checksum.secrets" -}}
{{- $parts := list (include "airflow.secrets.data" .) (include "airflow.auth.data" .) (toJson .Values.secrets) (toJson .Values.auth) -}}
{{- join "\n" $parts | sha256sum -}}
{{- end -}}

{{/* Secret name and key of each Airflow secret (user's or generated). Call with (list $ "fernetKey"). */}}
{{- define "airflow.secretRef" -}}
{{- $root := index . 0 -}}
{{- $s := index $root.Values.secrets (index . 1) -}}
name: {{ default (include "airflow.secretsName" $root) $s.existingSecret }}
key: {{ $s.key }}
{{- end -}}
