{{/*
Common helpers of the cap-operator chart. Object names are derived from the release name:
<release>-controller, <release>-subscription-server, <release>-webhook.
*/}}

{{/* The release name, used as the base of all object names (at most 40 characters, so that
suffixes fit into 63). */}}
{{- define "cap-operator.name" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "cap-operator.controllerName" -}}
{{- printf "%s-controller" (include "cap-operator.name" .) -}}
{{- end -}}

{{- define "cap-operator.serverName" -}}
{{- printf "%s-subscription-server" (include "cap-operator.name" .) -}}
{{- end -}}

{{- define "cap-operator.webhookName" -}}
{{- printf "%s-webhook" (include "cap-operator.name" .) -}}
{{- end -}}

{{/* Labels of every object. Call with (dict "ctx" $ "app" "<component>"); app may be empty for
objects that belong to no single component. */}}
{{- define "cap-operator.labels" -}}
{{- $ctx := .ctx -}}
{{ include "cap-operator.selectorLabels" . }}
app.kubernetes.io/name: cap-operator
app.kubernetes.io/instance: {{ $ctx.Release.Name | quote }}
app.kubernetes.io/version: {{ $ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $ctx.Release.Service | quote }}
app.kubernetes.io/part-of: cap-operator
helm.sh/chart: {{ printf "%s-%s" $ctx.Chart.Name $ctx.Chart.Version | replace "+" "_" | quote }}
{{- with .app }}
app.kubernetes.io/component: {{ . | quote }}
{{- end }}
{{- with $ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels: the operator's own identity labels. */}}
{{- define "cap-operator.selectorLabels" -}}
{{- if .app -}}
operator.sme.sap.com/app: {{ .app | quote }}
{{ end -}}
operator.sme.sap.com/category: controller
operator.sme.sap.com/release: {{ .ctx.Release.Name | quote }}
{{- end -}}

{{/* A component setting with the global value as fallback. Call with
(dict "ctx" $ "comp" "controller" "key" "nodeSelector"); returns YAML. */}}
{{- define "cap-operator.setting" -}}
{{- $c := index .ctx.Values .comp -}}
{{- if hasKey $c .key -}}
{{- toYaml (index $c .key) -}}
{{- else -}}
{{- toYaml (index .ctx.Values .key) -}}
{{- end -}}
{{- end -}}

{{/* The image reference of a component. Call with (dict "ctx" $ "comp" "controller"). */}}
{{- define "cap-operator.image" -}}
{{- $img := mergeOverwrite (deepCopy .ctx.Values.image) (index .ctx.Values .comp "image" | default dict) -}}
{{- $tag := $img.tag | default .ctx.Chart.AppVersion -}}
{{- if hasPrefix "sha256:" $tag -}}
{{- printf "%s@%s" $img.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" $img.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "cap-operator.imagePullPolicy" -}}
{{- $img := mergeOverwrite (deepCopy .ctx.Values.image) (index .ctx.Values .comp "image" | default dict) -}}
{{- $img.pullPolicy | default "IfNotPresent" -}}
{{- end -}}

{{/* The pod-level settings shared by all Deployments. Call with (dict "ctx" $ "comp" "<values
key>" "app" "<label>" "sa" "<service account>"); renders at the indentation of a pod spec. */}}
{{- define "cap-operator.podSettings" -}}
{{- $ctx := .ctx -}}
serviceAccountName: {{ .sa }}
{{- with (include "cap-operator.setting" (dict "ctx" $ctx "comp" .comp "key" "imagePullSecrets") | fromYamlArray) }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (include "cap-operator.setting" (dict "ctx" $ctx "comp" .comp "key" "podSecurityContext") | fromYaml) }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $prio := index $ctx.Values .comp "priorityClassName" | default $ctx.Values.priorityClassName }}
{{- with $prio }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- with (include "cap-operator.setting" (dict "ctx" $ctx "comp" .comp "key" "nodeSelector") | fromYaml) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (include "cap-operator.setting" (dict "ctx" $ctx "comp" .comp "key" "affinity") | fromYaml) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (include "cap-operator.setting" (dict "ctx" $ctx "comp" .comp "key" "tolerations") | fromYamlArray) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $app := .app }}
{{- with (include "cap-operator.setting" (dict "ctx" $ctx "comp" .comp "key" "topologySpreadConstraints") | fromYamlArray) }}
topologySpreadConstraints:
  {{- range . }}
  {{- $c := deepCopy . }}
  {{- if not (hasKey $c "labelSelector") }}
  {{- $_ := set $c "labelSelector" (dict "matchLabels" (include "cap-operator.selectorLabels" (dict "ctx" $ctx "app" $app) | fromYaml)) }}
  {{- end }}
  - {{- toYaml $c | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* Pod template labels: selector labels plus podLabels. */}}
{{- define "cap-operator.podLabels" -}}
{{ include "cap-operator.labels" (dict "ctx" .ctx "app" .app) }}
{{- with (include "cap-operator.setting" (dict "ctx" .ctx "comp" .comp "key" "podLabels") | fromYaml) }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod template annotations from podAnnotations (may be empty). */}}
{{- define "cap-operator.podAnnotations" -}}
{{- with (include "cap-operator.setting" (dict "ctx" .ctx "comp" .comp "key" "podAnnotations") | fromYaml) }}
{{- toYaml . }}
{{- end }}
{{- end -}}

{{/* The container security context of a component. */}}
{{- define "cap-operator.containerSecurityContext" -}}
{{- include "cap-operator.setting" (dict "ctx" .ctx "comp" .comp "key" "containerSecurityContext") -}}
{{- end -}}

{{/* Environment variables from (list (list "NAME" value) ...), leaving out those whose value is
null or the empty string; values are rendered as strings. Returns a JSON array. */}}
{{- define "cap-operator.optionalEnv" -}}
{{- $env := list -}}
{{- range . -}}
{{- $v := index . 1 -}}
{{- if and (kindIs "float64" $v) (eq (float64 (int64 $v)) $v) -}}
{{- $v = int64 $v -}}
{{- end -}}
{{- if not (or (kindIs "invalid" $v) (eq (toString $v) "")) -}}
{{- $env = append $env (dict "name" (index . 0) "value" (toString $v)) -}}
{{- end -}}
{{- end -}}
{{- toJson $env -}}
{{- end -}}

{{/* Webhook TLS material for certificateManager Default: a dict with caCert, caKey, tlsCert,
tlsKey and expiry (RFC 3339). It is computed once per render and cached, so that the Secret, the
caBundle of both webhook configurations and the pods' checksum annotation agree. An existing
Secret is reused (found with lookup); its serving certificate is re-signed by the same CA when it
expires within webhook.certificateRenewBeforeDays, so upgrades do not rotate the CA. */}}
{{- define "cap-operator.webhookTLS" -}}
{{- if not (hasKey .Values "__webhookTLS") -}}
{{- $svc := include "cap-operator.webhookName" . -}}
{{- $ns := .Release.Namespace -}}
{{- $dns := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) "localhost" -}}
{{- $secret := lookup "v1" "Secret" $ns (printf "%s-tls" $svc) -}}
{{- $data := dict -}}
{{- if and $secret $secret.data -}}
{{- $data = $secret.data -}}
{{- end -}}
{{- $out := dict -}}
{{- $renewBefore := mul (int .Values.webhook.certificateRenewBeforeDays) 86400 -}}
{{- if and (hasKey $data "ca.crt") (hasKey $data "ca.key") (hasKey $data "tls.crt") (hasKey $data "tls.key") -}}
{{- $caCert := b64dec (index $data "ca.crt") -}}
{{- $caKey := b64dec (index $data "ca.key") -}}
{{- $expiry := b64dec (index $data "tls.expiry" | default "") -}}
{{- $expiresAt := 0 -}}
{{- if $expiry -}}
{{- $expiresAt = toDate "2006-01-02T15:04:05Z07:00" $expiry | unixEpoch | int64 -}}
{{- end -}}
{{- if gt (int64 $expiresAt) (add (now | unixEpoch | int64) $renewBefore | int64) -}}
{{- $out = dict "caCert" $caCert "caKey" $caKey "tlsCert" (b64dec (index $data "tls.crt")) "tlsKey" (b64dec (index $data "tls.key")) "expiry" $expiry -}}
{{- else -}}
{{- $ca := buildCustomCert (index $data "ca.crt") (index $data "ca.key") -}}
{{- $days := int .Values.webhook.certificateValidityDays -}}
{{- $leaf := genSignedCert (printf "%s.%s.svc" $svc $ns) (list "127.0.0.1") $dns $days $ca -}}
{{- $out = dict "caCert" $caCert "caKey" $caKey "tlsCert" $leaf.Cert "tlsKey" $leaf.Key "expiry" (now | dateModify (printf "+%dh" (mul $days 24)) | date "2006-01-02T15:04:05Z07:00") -}}
{{- end -}}
{{- else -}}
{{- $ca := genCA (printf "%s-ca" $svc) (int .Values.webhook.caValidityDays) -}}
{{- $days := int .Values.webhook.certificateValidityDays -}}
{{- $leaf := genSignedCert (printf "%s.%s.svc" $svc $ns) (list "127.0.0.1") $dns $days $ca -}}
{{- $out = dict "caCert" $ca.Cert "caKey" $ca.Key "tlsCert" $leaf.Cert "tlsKey" $leaf.Key "expiry" (now | dateModify (printf "+%dh" (mul $days 24)) | date "2006-01-02T15:04:05Z07:00") -}}
{{- end -}}
{{- $_ := set .Values "__webhookTLS" $out -}}
{{- end -}}
{{- toJson (get .Values "__webhookTLS") -}}
{{- end -}}

{{/* The webhook's TLS Secret name for the chosen certificate manager. */}}
{{- define "cap-operator.webhookTLSSecret" -}}
{{- if eq .Values.webhook.certificateManager "CertManager" -}}
{{- printf "%s-tls-managed" (include "cap-operator.webhookName" .) -}}
{{- else -}}
{{- printf "%s-tls" (include "cap-operator.webhookName" .) -}}
{{- end -}}
{{- end -}}

{{/* Checks values that templates cannot render sensibly without. */}}
{{- define "cap-operator.validate" -}}
{{- if not (has .Values.webhook.certificateManager (list "Default" "CertManager")) -}}
{{- fail (printf "webhook.certificateManager must be Default or CertManager, not %q" .Values.webhook.certificateManager) -}}
{{- end -}}
{{- if not (has .Values.controller.certManager (list "" "gardener" "cert-manager.io")) -}}
{{- fail (printf "controller.certManager must be empty, gardener or cert-manager.io, not %q" .Values.controller.certManager) -}}
{{- end -}}
{{- if not (has .Values.controller.dnsManager (list "" "gardener" "kubernetes")) -}}
{{- fail (printf "controller.dnsManager must be empty, gardener or kubernetes, not %q" .Values.controller.dnsManager) -}}
{{- end -}}
{{- if .Values.subscriptionServer.domain -}}
{{- if not (has .Values.subscriptionServer.certificateManager (list "Gardener" "CertManager")) -}}
{{- fail (printf "subscriptionServer.certificateManager must be Gardener or CertManager, not %q" .Values.subscriptionServer.certificateManager) -}}
{{- end -}}
{{- if and (eq .Values.subscriptionServer.certificateManager "CertManager") (not .Values.subscriptionServer.certificateConfig.certManager.issuerName) -}}
{{- fail "subscriptionServer.certificateConfig.certManager.issuerName is required with certificateManager CertManager" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.subscriptionServer.tls.enabled (not .Values.subscriptionServer.tls.secretName) -}}
{{- fail "subscriptionServer.tls.secretName is required when subscriptionServer.tls.enabled" -}}
{{- end -}}
{{- end -}}
