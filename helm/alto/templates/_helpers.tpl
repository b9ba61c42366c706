{{- define "alto.labels" -}}
app.kubernetes.io/name: alto
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* Settings every Alto process shares: database and cluster identity. */}}
{{- define "alto.commonEnv" -}}
- name: Alto__Database__ConnectionString
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret }}
      key: connectionString
- name: Alto__Cluster__ClusterId
  value: {{ .Values.cluster.clusterId | quote }}
- name: Alto__Cluster__ServiceId
  value: {{ .Values.cluster.serviceId | quote }}
# /metrics is served to anyone who reaches this pod port, and to no one on the others: keep it out of every Service.
- name: Alto__Metrics__Url
  value: "http://0.0.0.0:{{ .Values.metricsPort }}"
{{- if .Values.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.otlpEndpoint | quote }}
{{- end }}
{{- end -}}
