{{/* Names match deploy/ when the release is called "cairn". */}}
{{- define "cairn.fullname" -}}
{{- printf "%s-controller" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cairn.selectorLabels" -}}
app.kubernetes.io/name: cairn
app.kubernetes.io/component: controller
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cairn.labels" -}}
{{ include "cairn.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "cairn.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if eq $tag "latest" -}}
{{- fail "image.tag must name a version, not latest" -}}
{{- end -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* For the user roles, which are not part of the controller component. */}}
{{- define "cairn.userRoleLabels" -}}
app.kubernetes.io/name: cairn
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
A shard's pods: a component of their own, so that the main Deployment's selector (deploy/'s,
which cannot change on upgrade) never matches them. Argument: (list $ shardName).
*/}}
{{- define "cairn.shardSelectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: cairn
app.kubernetes.io/component: controller-shard
app.kubernetes.io/instance: {{ $root.Release.Name }}
sharding.cairn.dev/shard: {{ index . 1 | quote }}
{{- end -}}

{{- define "cairn.shardName" -}}
{{- printf "%s-%s" (include "cairn.fullname" (index . 0)) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
V8's old-space limit in MiB: three quarters of the container's memory limit (Mi, Gi, M or G),
so the heap stops growing before the kubelet kills the pod; the rest is Node's own memory and
the git and cairn-render processes. Empty without a memory limit in one of those units.
*/}}
{{- define "cairn.heapMiB" -}}
{{- $limit := toString (dig "limits" "memory" "" .Values.resources) -}}
{{- $mib := 0 -}}
{{- if hasSuffix "Gi" $limit -}}{{- $mib = mul (trimSuffix "Gi" $limit | atoi) 1024 -}}
{{- else if hasSuffix "Mi" $limit -}}{{- $mib = trimSuffix "Mi" $limit | atoi -}}
{{- else if hasSuffix "G" $limit -}}{{- $mib = div (mul (trimSuffix "G" $limit | atoi) 1000000000) 1048576 -}}
{{- else if hasSuffix "M" $limit -}}{{- $mib = div (mul (trimSuffix "M" $limit | atoi) 1000000) 1048576 -}}
{{- end -}}
{{- if gt (int $mib) 0 -}}{{- div (mul $mib 3) 4 -}}{{- end -}}
{{- end -}}
