{{/*
Names. Contract relied on by charts/airflow: installed as dependency `postgres` of release R, the Service and the
generated Secret are both named `R-postgres`. Every helper here takes the root context only:
Usage:
  {{ include "postgres.fullname" (dict "context" $) }}
  (likewise postgres.name, postgres.isSubchart, postgres.headlessName, postgres.secretName, postgres.chart,
  postgres.image, postgres.serviceAccountName)
Params:
  - context - Dict - Required. The root context ($).
*/}}

{{/* Chart name (nameOverride wins). */}}
{{- define "postgres.name" -}}
{{- default .context.Chart.Name .context.Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* True ("true") when this chart is rendered as a subchart of another chart. */}}
{{- define "postgres.isSubchart" -}}
{{- if contains "/charts/" .context.Template.BasePath -}}true{{- end -}}
{{- end -}}

{{/*
Full name: fullnameOverride (tpl-evaluated) if set; as a subchart always `<release>-<chart name>`;
installed alone the usual helper semantics (the release name alone when it already contains the chart name).
*/}}
{{- define "postgres.fullname" -}}
{{- $root := .context -}}
{{- if $root.Values.fullnameOverride -}}
{{- tpl $root.Values.fullnameOverride $root | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default $root.Chart.Name $root.Values.nameOverride -}}
{{- if and (not (include "postgres.isSubchart" (dict "context" $root))) (contains $name $root.Release.Name) -}}
{{- $root.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" $root.Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The headless Service of the StatefulSet: <fullname>-hl. */}}
{{- define "postgres.headlessName" -}}
{{- printf "%s-hl" (include "postgres.fullname" (dict "context" .context) | trunc 60 | trimSuffix "-") -}}
{{- end -}}

{{/* Secret holding the password: auth.existingSecret (tpl-evaluated) or the generated one. */}}
{{- define "postgres.secretName" -}}
{{- $root := .context -}}
{{- if $root.Values.auth.existingSecret -}}
{{- tpl $root.Values.auth.existingSecret $root -}}
{{- else -}}
{{- include "postgres.fullname" (dict "context" $root) -}}
{{- end -}}
{{- end -}}

{{/* helm.sh/chart label value. */}}
{{- define "postgres.chart" -}}
{{- printf "%s-%s" .context.Chart.Name .context.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* repository@digest when image.digest is set, else repository:tag. */}}
{{- define "postgres.image" -}}
{{- $image := .context.Values.image -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $image.repository $image.tag -}}
{{- end -}}
{{- end -}}

{{/* The created service account (<fullname> unless named) or the named/default one. */}}
{{- define "postgres.serviceAccountName" -}}
{{- $sa := .context.Values.serviceAccount -}}
{{- if $sa.create -}}
{{- default (include "postgres.fullname" (dict "context" .context)) $sa.name -}}
{{- else -}}
{{- default "default" $sa.name -}}
{{- end -}}
{{- end -}}
