{{/* The release's base name: the release name, or <release>-kedastral when it lacks "kedastral". */}}
{{- define "kedastral.fullname" -}}
{{- if contains "kedastral" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-kedastral" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kedastral.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: kedastral
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* kedastral.image: the image of a component (agent, gateway). */}}
{{- define "kedastral.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .component (default .root.Chart.AppVersion .root.Values.image.tag) -}}
{{- end -}}

{{/* Where the plans are: the chart's Redis, or redis.address. */}}
{{- define "kedastral.redisAddr" -}}
{{- if .Values.redis.enabled -}}
{{- printf "%s-redis.%s.svc.cluster.local:6379" (include "kedastral.fullname" .) .Release.Namespace -}}
{{- else -}}
{{- required "redis.address is required when redis.enabled is false: the Redis (host:port, or a comma-separated list) the agents and the gateway share" .Values.redis.address -}}
{{- end -}}
{{- end -}}

{{/* The gateway's gRPC address, as a KEDA trigger names it. */}}
{{- define "kedastral.gatewayAddr" -}}
{{- printf "%s-gateway.%s.svc.cluster.local:50051" (include "kedastral.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* The restricted pod and container security settings every Kedastral pod runs with. */}}
{{- define "kedastral.podSecurity" -}}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{- define "kedastral.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
{{- end -}}

{{/* kedastral.env: a map of variables as EnvVar entries, names sorted. */}}
{{- define "kedastral.env" -}}
{{- range $k, $v := . }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end -}}

{{/* The ScaledObject's minReplicaCount, 1 when not set; an explicit 0 (scale to zero) is kept,
     where `default` would take it for unset. */}}
{{- define "kedastral.minReplicas" -}}
{{- if hasKey . "minReplicaCount" }}{{ .minReplicaCount | toString }}{{ else }}1{{ end }}
{{- end }}
