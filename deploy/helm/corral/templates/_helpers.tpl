{{/* Names and labels. */}}
{{- define "corral.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "corral.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "corral.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "corral.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: corral
{{- end -}}

{{/* Selector labels of one component: control-plane, data-plane or migrations. */}}
{{- define "corral.selectorLabels" -}}
app.kubernetes.io/name: {{ include "corral.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "corral.controlPlaneName" -}}
{{- printf "%s-control-plane" (include "corral.fullname" .) -}}
{{- end -}}

{{- define "corral.dataPlaneName" -}}
{{- printf "%s-data-plane" (include "corral.fullname" .) -}}
{{- end -}}

{{- define "corral.dataPlaneHeadlessName" -}}
{{- printf "%s-data-plane-headless" (include "corral.fullname" .) -}}
{{- end -}}

{{- define "corral.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "corral.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "corral.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding CORRAL_PG_URL, keys and tokens: the user's or the chart's. */}}
{{- define "corral.secretName" -}}
{{- default (printf "%s-secrets" (include "corral.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* An env entry read from the Corral Secret: dict "root" $ "name" ENV "key" KEYNAME ["optional" true]. */}}
{{- define "corral.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "corral.secretName" .root }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{/* CORRAL_REDIS_URL for both roles (nodes: shared admission; control plane: quota counters read by GET usage), when set. */}}
{{- define "corral.redisEnv" -}}
{{- if .Values.redis.existingSecret }}
- name: CORRAL_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret }}
      key: {{ .Values.redis.urlKey }}
{{- else if .Values.redis.url }}
- name: CORRAL_REDIS_URL
  value: {{ .Values.redis.url | quote }}
{{- end }}
{{- end }}

{{/* Blob store settings shared by both roles. */}}
{{- define "corral.blobEnv" -}}
{{- $url := .Values.blobStore.url -}}
{{- if not (hasPrefix "s3://" $url) -}}
{{- fail "blobStore.url must be s3://bucket/prefix: every replica and node must read the same store" -}}
{{- end -}}
- name: CORRAL_BLOB_URL
  value: {{ $url | quote }}
{{- with .Values.blobStore.endpoint }}
- name: CORRAL_S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with .Values.blobStore.region }}
- name: AWS_REGION
  value: {{ . | quote }}
{{- end }}
{{- with .Values.blobStore.credentials.existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.blobStore.credentials.accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.blobStore.credentials.secretAccessKeyKey }}
{{- end }}
{{- end -}}

{{/* Pod hardening shared by every workload. enableServiceLinks is off because Kubernetes
would otherwise inject CORRAL_CONTROL_PLANE_PORT-style variables for this chart's own
Services, and the processes refuse unknown CORRAL_* variables. */}}
{{- define "corral.podSpecCommon" -}}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* A pod template's annotations: dict "root" $ "extra" MAP. Adds a checksum of the
chart-managed Secret so pods restart when it changes; renders nothing when empty. */}}
{{- define "corral.podAnnotations" -}}
{{- $annotations := merge (dict) (default (dict) .extra) -}}
{{- if .root.Values.secrets.create -}}
{{- $_ := set $annotations "checksum/secrets" (include (print .root.Template.BasePath "/secret.yaml") .root | sha256sum) -}}
{{- end -}}
{{- with $annotations -}}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The fleet's node secret from values (secrets.create), checked for its minimum length. */}}
{{- define "corral.nodeSecret" -}}
{{- $s := required "secrets.values.nodeSecret is required with secrets.create" .Values.secrets.values.nodeSecret -}}
{{- if lt (len $s) 32 -}}
{{- fail "secrets.values.nodeSecret must be at least 32 characters" -}}
{{- end -}}
{{- $s -}}
{{- end -}}

{{/*
OpenTelemetry span export (runtime/tracing.ts), the same for the control plane and the nodes:
nothing unless tracing.otlpEndpoint is set (export off).
*/}}
{{- define "corral.tracingEnv" -}}
{{- with .Values.tracing -}}
{{- if .otlpEndpoint -}}
- name: CORRAL_OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .otlpEndpoint | quote }}
- name: CORRAL_TRACE_SAMPLE_RATIO
  value: {{ .sampleRatio | quote }}
- name: CORRAL_TRACE_QUEUE_SIZE
  value: {{ .queueSize | int64 | quote }}
{{- end -}}
{{- end -}}
{{- end }}
