{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "bgp-connector.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name. */}}
{{- define "bgp-connector.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "bgp-connector.labels" -}}
app.kubernetes.io/name: {{ include "bgp-connector.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "bgp-connector.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bgp-connector.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* connector.properties from .Values.config, keys sorted; metrics.listen follows .Values.metrics. */}}
{{- define "bgp-connector.properties" -}}
# Rendered by the bgp-connector Helm chart from .Values.config.
{{- range $k, $v := .Values.config }}
{{ $k }}={{ $v }}
{{- end }}
{{- if .Values.metrics.enabled }}
metrics.listen=:{{ .Values.metrics.port }}
{{- end }}
{{- end -}}
