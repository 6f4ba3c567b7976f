{{/* Names, labels and the image of one service. Most helpers take (dict "root" $ "name" $name). */}}

{{- define "kwont.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kwont.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "kwont.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "kwont.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<service> */}}
{{- define "kwont.svcname" -}}
{{- printf "%s-%s" (include "kwont.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kwont.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: kwont
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "kwont.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kwont.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "kwont.labels" -}}
{{ include "kwont.commonLabels" .root }}
{{ include "kwont.selectorLabels" . }}
{{- end -}}

{{- define "kwont.image" -}}
{{- printf "%s%s:%s" .root.Values.image.prefix .name (default .root.Chart.AppVersion .root.Values.image.tag) -}}
{{- end -}}

{{- define "kwont.serviceAccountName" -}}
{{- if .root.Values.serviceAccount.create -}}{{ include "kwont.svcname" . }}{{- else -}}default{{- end -}}
{{- end -}}

{{- define "kwont.secretName" -}}
{{- default (printf "%s-secrets" (include "kwont.fullname" .)) .Values.existingSecret -}}
{{- end -}}

{{- define "kwont.configName" -}}
{{- printf "%s-config" (include "kwont.fullname" .) -}}
{{- end -}}

{{/* NetworkPolicy egress peers: the given list, or any address when it is empty. */}}
{{- define "kwont.peers" -}}
{{- if . }}
{{- toYaml . }}
{{- else }}
- ipBlock: {cidr: 0.0.0.0/0}
{{- end }}
{{- end -}}
