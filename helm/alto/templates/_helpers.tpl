{{- define "alto.labels" -}}
app.kubernetes.io/name: alto
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "alto.selector" -}}
app.kubernetes.io/name: alto
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "alto.image" -}}
{{ .root.Values.image.registry }}{{ .name }}:{{ .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- end -}}

{{- define "alto.serviceAccount" -}}
{{ .Values.serviceAccount.name | default (printf "%s-alto" .Release.Name) }}
{{- end -}}

{{- define "alto.masterKeySecret" -}}
{{ .Values.masterKey.existingSecret | default (printf "%s-master-key" .Release.Name) }}
{{- end -}}

{{- define "alto.adminSecret" -}}
{{ .Values.bootstrapAdmin.existingSecret | default (printf "%s-bootstrap-admin" .Release.Name) }}
{{- end -}}

{{/* The database, for every process and the migration Job. */}}
{{- define "alto.databaseEnv" -}}
- name: Alto__Database__ConnectionString
  valueFrom:
    secretKeyRef:
      name: {{ required "database.existingSecret names the Secret with the connection string" .Values.database.existingSecret }}
      key: {{ .Values.database.secretKey }}
{{- end -}}

{{/* Settings every Alto process shares: database, key material and cluster identity. */}}
{{- define "alto.commonEnv" -}}
{{ include "alto.databaseEnv" . }}
- name: ALTO_MASTER_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "alto.masterKeySecret" . }}
      key: {{ .Values.masterKey.secretKey }}
- name: Alto__Cluster__ClusterId
  value: {{ .Values.cluster.clusterId | quote }}
- name: Alto__Cluster__ServiceId
  value: {{ .Values.cluster.serviceId | quote }}
# /metrics is served to anyone who reaches this pod port, and to no one on the others.
- name: Alto__Metrics__Url
  value: "http://0.0.0.0:{{ .Values.metrics.port }}"
- name: TMPDIR
  value: /tmp
{{- if .Values.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.otlpEndpoint | quote }}
{{- end }}
{{- end -}}

{{/* Probes on the process's HTTP port: started, alive, ready. */}}
{{- define "alto.probes" -}}
startupProbe:
  httpGet: { path: /healthz, port: http }
  periodSeconds: 5
  failureThreshold: 60
livenessProbe:
  httpGet: { path: /healthz, port: http }
  periodSeconds: 10
  failureThreshold: 3
readinessProbe:
  httpGet: { path: /readyz, port: http }
  periodSeconds: 5
  failureThreshold: 2
{{- end -}}

{{/* The pod's scheduling, service account and security settings. */}}
{{- define "alto.podSpec" -}}
serviceAccountName: {{ include "alto.serviceAccount" .root }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
