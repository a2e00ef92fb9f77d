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
app.kubernetes.io/part-of: bgp-connector
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component (connector, collect, backfill): call with (list . "component"). */}}
{{- define "bgp-connector.selectorLabels" -}}
{{- $top := index . 0 -}}
app.kubernetes.io/name: {{ include "bgp-connector.name" $top }}
app.kubernetes.io/instance: {{ $top.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "bgp-connector.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "bgp-connector.sasl" -}}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol }}true{{ end -}}
{{- end -}}

{{- define "bgp-connector.tls" -}}
{{- if hasSuffix "SSL" .Values.kafka.securityProtocol }}true{{ end -}}
{{- end -}}

{{/* A Java properties value: backslashes escaped (newlines are refused by the schema). */}}
{{- define "bgp-connector.propValue" -}}
{{- if kindIs "float64" . -}}
{{- int64 . -}}
{{- else -}}
{{- toString . | replace "\\" "\\\\" -}}
{{- end -}}
{{- end -}}

{{/* connector.properties: .Values.config (keys sorted), then the keys the chart owns: Kafka security from .Values.kafka and metrics.listen from .Values.metrics. */}}
{{- define "bgp-connector.properties" -}}
# Rendered by the bgp-connector Helm chart from .Values.config and .Values.kafka.
{{- range $k, $v := .Values.config }}
{{ $k }}={{ include "bgp-connector.propValue" $v }}
{{- end }}
security.protocol={{ .Values.kafka.securityProtocol }}
{{- if include "bgp-connector.sasl" . }}
sasl.mechanism={{ .Values.kafka.sasl.mechanism }}
{{- with .Values.kafka.sasl.username }}
sasl.username={{ include "bgp-connector.propValue" . }}
{{- end }}
{{- end }}
{{- if include "bgp-connector.tls" . }}
{{- if or .Values.kafka.tls.caSecret .Values.kafka.tls.caConfigMap }}
ssl.ca.location={{ .Values.kafka.tls.mountPath }}/ca/{{ .Values.kafka.tls.caKey }}
{{- end }}
{{- if .Values.kafka.tls.clientCertSecret }}
ssl.certificate.location={{ .Values.kafka.tls.mountPath }}/client/tls.crt
ssl.key.location={{ .Values.kafka.tls.mountPath }}/client/tls.key
{{- end }}
{{- end }}
{{- if .Values.metrics.enabled }}
metrics.listen=:{{ .Values.metrics.port }}
{{- end }}
{{- end -}}

{{/* The environment of every bgp-connector container: SASL credentials from their Secret, secretEnv, extraEnv. */}}
{{- define "bgp-connector.env" -}}
{{- if include "bgp-connector.sasl" . }}
- name: BGP_CONNECTOR_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.passwordKey }}
{{- with .Values.kafka.sasl.usernameKey }}
- name: BGP_CONNECTOR_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.kafka.sasl.existingSecret }}
      key: {{ . }}
{{- end }}
{{- end }}
{{- range $name, $ref := .Values.secretEnv }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name }}
      key: {{ $ref.key }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Volume mounts of every bgp-connector container. */}}
{{- define "bgp-connector.volumeMounts" -}}
- name: config
  mountPath: /etc/bgp-connector/connector.properties
  subPath: connector.properties
  readOnly: true
{{- if include "bgp-connector.tls" . }}
{{- if or .Values.kafka.tls.caSecret .Values.kafka.tls.caConfigMap }}
- name: kafka-ca
  mountPath: {{ .Values.kafka.tls.mountPath }}/ca
  readOnly: true
{{- end }}
{{- if .Values.kafka.tls.clientCertSecret }}
- name: kafka-client-cert
  mountPath: {{ .Values.kafka.tls.mountPath }}/client
  readOnly: true
{{- end }}
{{- end }}
{{- end -}}

{{/* Volumes of every bgp-connector pod. */}}
{{- define "bgp-connector.volumes" -}}
- name: config
  configMap:
    name: {{ include "bgp-connector.fullname" . }}
{{- if include "bgp-connector.tls" . }}
{{- with .Values.kafka.tls }}
{{- if .caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ .caSecret }}
    items:
      - key: {{ .caKey }}
        path: {{ .caKey }}
{{- else if .caConfigMap }}
- name: kafka-ca
  configMap:
    name: {{ .caConfigMap }}
    items:
      - key: {{ .caKey }}
        path: {{ .caKey }}
{{- end }}
{{- if .clientCertSecret }}
- name: kafka-client-cert
  secret:
    secretName: {{ .clientCertSecret }}
    items:
      - key: tls.crt
        path: tls.crt
      - key: tls.key
        path: tls.key
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The pod spec fields every bgp-connector pod shares. */}}
{{- define "bgp-connector.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The consumer group KEDA and the HPA watch. */}}
{{- define "bgp-connector.group" -}}
{{- index .Values.config "group.id" | default (printf "connect-%s" (index .Values.config "name" | default "bgp-connector")) -}}
{{- end -}}
