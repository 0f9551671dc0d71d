{{/*
Airflow 3 DAG bundles (dags.bundles): [dag_processor] dag_bundle_config_list, the git connection of each git
bundle (AIRFLOW_CONN_* assembled from secretKeyRef vars by Kubernetes $(VAR) expansion, never a literal
credential), the ssh key / known_hosts files and the writable bundle storage. Only the dag-processor and the
task pods get these; only the dag-processor's pod template carries checksum/bundles.
*/}}

{{/*
Fixed paths of the bundle files inside the Airflow containers.
Usage:
  {{ include "airflow.paths.bundleStorage" (dict) }}
  {{ include "airflow.paths.bundleAuth" (dict) }}
Params: none.
*/}}
{{- define "airflow.paths.bundleStorage" -}}/opt/airflow/dag-bundles{{- end -}}
{{- define "airflow.paths.bundleAuth" -}}/opt/airflow/git-bundles{{- end -}}

{{/*
"true" when dags.bundles is set, else "".
Usage:
  {{ if include "airflow.bundles.enabled" (dict "context" $) }}…{{ end }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.bundles.enabled" -}}{{ if .context.Values.dags.bundles }}true{{ end }}{{- end -}}

{{/*
Kind of one bundle: "git" (default) or "local".
Usage:
  {{ include "airflow.bundle.kind" (dict "bundle" $b) }}
Params:
  - bundle - Dict - Required. One entry of dags.bundles.
*/}}
{{- define "airflow.bundle.kind" -}}{{ default "git" .bundle.kind }}{{- end -}}

{{/*
Airflow connection id and env-var stem of one git bundle: airkube_bundle_<name, - as _> / AIRKUBE_BUNDLE_<NAME>.
Usage:
  {{ include "airflow.bundle.connId" (dict "bundle" $b) }}
  {{ include "airflow.bundle.envStem" (dict "bundle" $b) }}
Params:
  - bundle - Dict - Required. One entry of dags.bundles.
*/}}
{{- define "airflow.bundle.connId" -}}{{ printf "airkube_bundle_%s" (replace "-" "_" .bundle.name) }}{{- end -}}
{{- define "airflow.bundle.envStem" -}}{{ printf "AIRKUBE_BUNDLE_%s" (replace "-" "_" .bundle.name | upper) }}{{- end -}}

{{/*
"true" when the bundle's repo is an ssh URL (ssh://… or scp-like git@host:path).
Usage:
  {{ if include "airflow.bundle.isSsh" (dict "bundle" $b) }}…{{ end }}
Params:
  - bundle - Dict - Required. One entry of dags.bundles.
*/}}
{{- define "airflow.bundle.isSsh" -}}
{{- $repo := toString (default "" .bundle.repo) -}}
{{- if or (hasPrefix "ssh://" $repo) (regexMatch "^[^/@:]+@[^/:]+:" $repo) }}true{{ end -}}
{{- end -}}

{{/*
The value of [dag_processor] dag_bundle_config_list as JSON (a YAML flow list).
Usage:
  {{ include "airflow.bundles.configList" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.bundles.configList" -}}
{{- $root := .context -}}
{{- $list := list -}}
{{- range $b := $root.Values.dags.bundles -}}
{{- $kwargs := dict -}}
{{- if eq (include "airflow.bundle.kind" (dict "bundle" $b)) "local" -}}
{{- $_ := set $kwargs "path" (default (include "airflow.dags.folder" (dict "context" $root)) $b.path) -}}
{{- $list = append $list (dict "name" $b.name "classpath" "airflow.dag_processing.bundles.local.LocalDagBundle" "kwargs" $kwargs) -}}
{{- else -}}
{{- $_ := set $kwargs "repo_url" $b.repo -}}
{{- $_ = set $kwargs "tracking_ref" (default "main" $b.trackingRef) -}}
{{- $_ = set $kwargs "git_conn_id" (include "airflow.bundle.connId" (dict "bundle" $b)) -}}
{{- with $b.subdir }}{{ $_ = set $kwargs "subdir" (trimAll "/" .) }}{{ end -}}
{{- $list = append $list (dict "name" $b.name "classpath" "airflow.providers.git.bundles.git.GitDagBundle" "kwargs" $kwargs) -}}
{{- end -}}
{{- /* $kwargs is the map already in $list: set after append still lands there */ -}}
{{- /* refreshInterval, else a git bundle fetches once a minute ([dag_processor] refresh_interval is the chart's 10 s,
       made for listing a local folder) */ -}}
{{- if not (kindIs "invalid" $b.refreshInterval) }}{{ $_ := set $kwargs "refresh_interval" (int $b.refreshInterval) }}
{{- else if ne (include "airflow.bundle.kind" (dict "bundle" $b)) "local" }}{{ $_ := set $kwargs "refresh_interval" 60 }}{{ end -}}
{{- end -}}
{{- toJson $list -}}
{{- end -}}

{{/*
Env of the containers that build bundles (dag-processor, task pods): one AIRFLOW_CONN_<CONN_ID> per git bundle.
https credentials come from the Secret credentialsSecret (keys usernameKey/tokenKey) as secretKeyRef vars that
Kubernetes expands into the connection JSON; an ssh bundle's connection only names the mounted key and
known_hosts files (strict host key checking). Nothing when dags.bundles is empty.
Usage:
  {{- include "airflow.bundles.env" (dict "context" $) | nindent 8 }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.bundles.env" -}}
{{- $auth := include "airflow.paths.bundleAuth" (dict) -}}
{{- range $b := .context.Values.dags.bundles }}
{{- if ne (include "airflow.bundle.kind" (dict "bundle" $b)) "local" }}
{{- $stem := include "airflow.bundle.envStem" (dict "bundle" $b) }}
{{- $conn := dict "conn_type" "git" }}
{{- $extra := dict }}
{{- if $b.credentialsSecret }}
- name: {{ $stem }}_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $b.credentialsSecret }}
      key: {{ default "username" $b.usernameKey }}
- name: {{ $stem }}_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $b.credentialsSecret }}
      key: {{ default "token" $b.tokenKey }}
{{- $_ := set $conn "login" (printf "$(%s_USERNAME)" $stem) }}
{{- $_ = set $conn "password" (printf "$(%s_TOKEN)" $stem) }}
{{- end }}
{{- if $b.sshKeySecret }}{{ $_ := set $extra "key_file" (printf "%s/%s/ssh" $auth $b.name) }}{{ end }}
{{- if $b.knownHosts }}
{{- $_ := set $extra "known_hosts_file" (printf "%s/%s/known_hosts" $auth $b.name) }}
{{- $_ = set $extra "strict_host_key_checking" "yes" }}
{{- end }}
{{- if $extra }}{{ $_ := set $conn "extra" $extra }}{{ end }}
- name: AIRFLOW_CONN_{{ include "airflow.bundle.connId" (dict "bundle" $b) | upper }}
  value: {{ toJson $conn | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Volumes of the bundle builders: the storage emptyDir (dags.bundleStorageSizeLimit) and one projected volume with
each ssh bundle's key (<name>/ssh) and known_hosts (<name>/known_hosts). Nothing when dags.bundles is empty.
Usage:
  {{- include "airflow.bundles.volumes" (dict "context" $) | nindent 8 }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.bundles.volumes" -}}
{{- $root := .context -}}
{{- if include "airflow.bundles.enabled" (dict "context" $root) }}
- name: dag-bundles
  emptyDir:
    sizeLimit: {{ $root.Values.dags.bundleStorageSizeLimit | quote }}
{{- $sources := list }}
{{- $hosts := list }}
{{- range $b := $root.Values.dags.bundles }}
{{- if $b.sshKeySecret }}
{{- $sources = append $sources (dict "secret" (dict "name" $b.sshKeySecret "items" (list (dict "key" (default "gitSshKey" $b.sshKeySecretKey) "path" (printf "%s/ssh" $b.name))))) }}
{{- end }}
{{- if $b.knownHosts }}{{ $hosts = append $hosts (dict "key" $b.name "path" (printf "%s/known_hosts" $b.name)) }}{{ end }}
{{- end }}
{{- if $hosts }}
{{- $sources = append $sources (dict "configMap" (dict "name" (include "airflow.bundles.knownHostsConfigMapName" (dict "context" $root)) "items" $hosts)) }}
{{- end }}
{{- if $sources }}
- name: git-bundles
  projected:
    defaultMode: 0440
    sources:
      {{- toYaml $sources | nindent 6 }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Mounts matching airflow.bundles.volumes.
Usage:
  {{- include "airflow.bundles.volumeMounts" (dict "context" $) | nindent 8 }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.bundles.volumeMounts" -}}
{{- $root := .context -}}
{{- if include "airflow.bundles.enabled" (dict "context" $root) }}
- name: dag-bundles
  mountPath: {{ include "airflow.paths.bundleStorage" (dict) }}
{{- $auth := false }}
{{- range $root.Values.dags.bundles }}{{ if or .sshKeySecret .knownHosts }}{{ $auth = true }}{{ end }}{{ end }}
{{- if $auth }}
- name: git-bundles
  mountPath: {{ include "airflow.paths.bundleAuth" (dict) }}
  readOnly: true
{{- end }}
{{- end }}
{{- end -}}

{{/*
Name of the ConfigMap holding each bundle's known_hosts (key: bundle name).
Usage:
  {{ include "airflow.bundles.knownHostsConfigMapName" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.bundles.knownHostsConfigMapName" -}}{{ include "airflow.componentName" (dict "suffix" "bundle-known-hosts" "context" .context) }}{{- end -}}

{{/*
Checksum of the bundle configuration (config list, env, known_hosts): only the dag-processor's pod template
carries it, so a bundle change restarts the dag-processor alone (task pods read airflow.cfg when they start).
Usage:
  {{ include "airflow.checksum.bundles" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.checksum.bundles" -}}
{{- $root := .context -}}
{{- $cfg := include "airflow.config.cfg" (dict "context" $root) -}}
{{- printf "%s\n%s\n%s" (regexFindAll "(?m)^dag_bundle_config_list = .*$" $cfg -1 | join "\n") (include "airflow.bundles.env" (dict "context" $root)) (toJson $root.Values.dags.bundles) | sha256sum -}}
{{- end -}}

{{/*
"true" when a bundle breaks the named check (cross-field rules in rules.yaml use this), else "".
  - git-repo: a git bundle without repo;  ssh-key: an ssh repo without sshKeySecret;
  - known-hosts: sshKeySecret without knownHosts;  one-auth: both credentialsSecret and sshKeySecret;
  - git: any git bundle.
Usage:
  {{ include "airflow.bundles.broken" (dict "check" "git-repo" "context" $) }}
Params:
  - check - String - Required. One of the checks above.
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.bundles.broken" -}}
{{- $check := .check -}}
{{- $found := false -}}
{{- range $b := .context.Values.dags.bundles -}}
{{- $git := ne (include "airflow.bundle.kind" (dict "bundle" $b)) "local" -}}
{{- if and (eq $check "git") $git }}{{ $found = true }}{{ end -}}
{{- if and (eq $check "git-repo") $git (not $b.repo) }}{{ $found = true }}{{ end -}}
{{- if and (eq $check "ssh-key") $git (include "airflow.bundle.isSsh" (dict "bundle" $b)) (not $b.sshKeySecret) }}{{ $found = true }}{{ end -}}
{{- if and (eq $check "known-hosts") $b.sshKeySecret (not $b.knownHosts) }}{{ $found = true }}{{ end -}}
{{- if and (eq $check "one-auth") $b.credentialsSecret $b.sshKeySecret }}{{ $found = true }}{{ end -}}
{{- end -}}
{{- if $found }}true{{ end -}}
{{- end -}}

{{/*
Checksum of the worker pod template without its bundle parts (the scheduler's checksum/pod-template): the
executor reads the template file for every task, and the bundle env/volumes in it follow dags.bundles, which
restarts the dag-processor alone. Renders the template once more with dags.bundles emptied (a copy of the values).
Usage:
  {{ include "airflow.checksum.podTemplate" (dict "context" $) }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.checksum.podTemplate" -}}
{{- $root := .context -}}
{{- $values := deepCopy $root.Values -}}
{{- $_ := set $values.dags "bundles" list -}}
{{- $ctx := dict "Values" $values "Release" $root.Release "Chart" $root.Chart "Files" $root.Files "Capabilities" $root.Capabilities "Template" $root.Template -}}
{{- include "airflow.podTemplate" (dict "context" $ctx) | sha256sum -}}
{{- end -}}

{{/*
Pod annotations of the dag-processor for the bundles: checksum/bundles (nothing when dags.bundles is empty).
Usage:
  {{ include "airflow.bundles.annotations" (dict "context" $) | fromYaml }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.bundles.annotations" -}}
{{- if include "airflow.bundles.enabled" (dict "context" .context) -}}
checksum/bundles: {{ include "airflow.checksum.bundles" (dict "context" .context) }}
{{- end -}}
{{- end -}}

{{/*
TCP ports the git bundles' repositories are reached on (JSON list): the URL's port, else 443 (https), 80 (http),
9418 (git://) or 22 (ssh:// and git@host:path). The NetworkPolicies open them for the dag-processor and task pods.
Usage:
  {{ include "airflow.bundles.ports" (dict "context" $) | fromJsonArray }}
Params:
  - context - Dict - Required. The root context ($).
*/}}
{{- define "airflow.bundles.ports" -}}
{{- $ports := list -}}
{{- range $b := .context.Values.dags.bundles -}}
{{- $repo := toString (default "" $b.repo) -}}
{{- if and (ne (include "airflow.bundle.kind" (dict "bundle" $b)) "local") $repo (not (hasPrefix "file://" $repo)) -}}
{{- if include "airflow.bundle.isSsh" (dict "bundle" $b) | and (not (hasPrefix "ssh://" $repo)) -}}
{{- $ports = append $ports 22 -}}
{{- else -}}
{{- $u := urlParse $repo -}}
{{- $hostPort := splitList ":" $u.host -}}
{{- $default := get (dict "https" 443 "http" 80 "git" 9418 "ssh" 22) $u.scheme | default 443 -}}
{{- $ports = append $ports (ternary (int (last $hostPort)) (int $default) (gt (len $hostPort) 1)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $ports | uniq | toJson -}}
{{- end -}}
