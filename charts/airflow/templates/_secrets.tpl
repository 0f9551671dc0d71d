{{/*
Generated secrets. Each value is generated once: an upgrade reads it back from the Secret in the cluster
(`lookup`), so fernet key, api secret key, JWT secret and user passwords survive upgrades. Within one render the
values are memoised in .Values (one map shared by all templates of the chart), so the Secret and the checksum
annotations of the Deployments always see the same values, even on a first install or `helm template`.
*/}}

{{/*
data map (base64 values) of <fullname>-keys; empty map when every secret is supplied by the user.
Usage:
  {{ include "airflow.secrets.data" (dict "context" $) | fromYaml }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.secrets.data" -}}
{{- $root := .context -}}
{{- if not (hasKey $root.Values "__airkubeGeneratedSecrets") -}}
{{- $existing := dict -}}
{{- $found := lookup "v1" "Secret" $root.Release.Namespace (include "airflow.secretsName" (dict "context" $root)) -}}
{{- if and $found (hasKey $found "data") }}{{ $existing = $found.data }}{{ end -}}
{{- $data := dict -}}
{{- $s := $root.Values.secrets -}}
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
{{- $_ := set $root.Values "__airkubeGeneratedSecrets" $data -}}
{{- end -}}
{{- toYaml (get $root.Values "__airkubeGeneratedSecrets") -}}
{{- end -}}

{{/*
data map of <fullname>-auth: passwords.json + the first user's username/password; kept across upgrades.
Usage:
  {{ include "airflow.auth.data" (dict "context" $) | fromYaml }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.auth.data" -}}
{{- $root := .context -}}
{{- $auth := $root.Values.auth -}}
{{- if not (hasKey $root.Values "__airkubeGeneratedAuth") -}}
{{- $data := dict -}}
{{- if not $auth.existingSecret -}}
{{- $old := dict -}}
{{- $found := lookup "v1" "Secret" $root.Release.Namespace (include "airflow.authSecretName" (dict "context" $root)) -}}
{{- if and $found (hasKey $found "data") (hasKey $found.data $auth.passwordsFileKey) -}}
{{- $old = index $found.data $auth.passwordsFileKey | b64dec | fromJson -}}
{{- end -}}
{{- $passwords := dict -}}
{{- range $auth.users -}}
{{- $_ := set $passwords .username (get $old .username | default (randAlphaNum 20)) -}}
{{- end -}}
{{- $_ := set $data $auth.passwordsFileKey (toJson $passwords | b64enc) -}}
{{- with first $auth.users -}}
{{- $_ := set $data "username" (.username | b64enc) -}}
{{- $_ := set $data $auth.passwordKey (get $passwords .username | b64enc) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $root.Values "__airkubeGeneratedAuth" $data -}}
{{- end -}}
{{- toYaml (get $root.Values "__airkubeGeneratedAuth") -}}
{{- end -}}

{{/*
Changes whenever a secret the components read changes (generated values or the names of user Secrets).
Usage:
  {{ include "airflow.checksum.secrets" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.checksum.secrets" -}}
{{- $root := .context -}}
{{- $parts := list (include "airflow.secrets.data" (dict "context" $root)) (include "airflow.auth.data" (dict "context" $root)) (toJson $root.Values.secrets) (toJson $root.Values.auth) -}}
{{- join "\n" $parts | sha256sum -}}
{{- end -}}

{{/*
Secret name and key of one Airflow secret (the user's existingSecret or the generated <fullname>-keys).
Usage:
  {{- include "airflow.secretRef" (dict "secret" "fernetKey" "context" $) | nindent 6 }}
Params:
  - secret - String - Required. Key under .Values.secrets (fernetKey, apiSecretKey, jwtSecret).
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.secretRef" -}}
{{- $s := index .context.Values.secrets .secret -}}
name: {{ default (include "airflow.secretsName" (dict "context" .context)) $s.existingSecret }}
key: {{ $s.key }}
{{- end -}}
