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
tlsKey, expiry (RFC 3339) and caBundle (the CAs the API server trusts). It is computed once per
render and cached, so that the Secret, the caBundle of both webhook configurations and the pods'
checksum annotation agree. An existing Secret is reused (found with lookup), including what the
webhook renewed itself. Its serving certificate is re-signed by the same CA when it expires
within webhook.certificateRenewBeforeDays; a CA that expires within that time is replaced, and
the caBundle then holds the new and the old CA, so that pods still serving the old certificate
are trusted until they restart. */}}
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
{{- $now := now | unixEpoch | int64 -}}
{{- $renewBefore := mul (int .Values.webhook.certificateRenewBeforeDays) 86400 -}}
{{- $days := int .Values.webhook.certificateValidityDays -}}
{{- $cn := printf "%s.%s.svc" $svc $ns -}}
{{- $leafExpiry := now | dateModify (printf "+%dh" (mul $days 24)) | date "2006-01-02T15:04:05Z07:00" -}}
{{- if and (hasKey $data "ca.crt") (hasKey $data "ca.key") (hasKey $data "tls.crt") (hasKey $data "tls.key") -}}
{{- $caCert := b64dec (index $data "ca.crt") -}}
{{- $caKey := b64dec (index $data "ca.key") -}}
{{- $bundle := b64dec (index $data "ca-bundle.crt" | default (index $data "ca.crt")) -}}
{{- $expiry := b64dec (index $data "tls.expiry" | default "") -}}
{{- $caExpiry := b64dec (index $data "ca.expiry" | default "") -}}
{{- $expiresAt := 0 -}}
{{- if $expiry -}}
{{- $expiresAt = toDate "2006-01-02T15:04:05Z07:00" $expiry | unixEpoch | int64 -}}
{{- end -}}
{{- if and $caExpiry (le (toDate "2006-01-02T15:04:05Z07:00" $caExpiry | unixEpoch | int64) (add $now $renewBefore | int64)) -}}
{{- $ca := genCA (printf "%s-ca" $svc) (int .Values.webhook.caValidityDays) -}}
{{- $leaf := genSignedCert $cn (list "127.0.0.1") $dns $days $ca -}}
{{- $out = dict "caCert" $ca.Cert "caKey" $ca.Key "tlsCert" $leaf.Cert "tlsKey" $leaf.Key "expiry" $leafExpiry "caBundle" (printf "%s\n%s\n" (trim $ca.Cert) (trim $caCert)) "caExpiry" (now | dateModify (printf "+%dh" (mul (int .Values.webhook.caValidityDays) 24)) | date "2006-01-02T15:04:05Z07:00") -}}
{{- else if gt (int64 $expiresAt) (add $now $renewBefore | int64) -}}
{{- $out = dict "caCert" $caCert "caKey" $caKey "tlsCert" (b64dec (index $data "tls.crt")) "tlsKey" (b64dec (index $data "tls.key")) "expiry" $expiry "caBundle" $bundle -}}
{{- else -}}
{{- $ca := buildCustomCert (index $data "ca.crt") (index $data "ca.key") -}}
{{- $leaf := genSignedCert $cn (list "127.0.0.1") $dns $days $ca -}}
{{- $out = dict "caCert" $caCert "caKey" $caKey "tlsCert" $leaf.Cert "tlsKey" $leaf.Key "expiry" $leafExpiry "caBundle" $bundle -}}
{{- end -}}
{{- if and $caExpiry (not (hasKey $out "caExpiry")) -}}
{{- $_ := set $out "caExpiry" $caExpiry -}}
{{- end -}}
{{- else -}}
{{- $ca := genCA (printf "%s-ca" $svc) (int .Values.webhook.caValidityDays) -}}
{{- $leaf := genSignedCert $cn (list "127.0.0.1") $dns $days $ca -}}
{{- $out = dict "caCert" $ca.Cert "caKey" $ca.Key "tlsCert" $leaf.Cert "tlsKey" $leaf.Key "expiry" $leafExpiry "caBundle" $ca.Cert "caExpiry" (now | dateModify (printf "+%dh" (mul (int .Values.webhook.caValidityDays) 24)) | date "2006-01-02T15:04:05Z07:00") -}}
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

{{/* Checks values that templates cannot render sensibly without, once per render (every
template includes it, since Helm renders them in no documented order). values.schema.json
rejects unknown keys and wrong types before this runs; the checks here refuse the keys the
schema lets through only to name their replacement, and the combinations a schema cannot
express. */}}
{{- define "cap-operator.validate" -}}
{{- if not (hasKey .Values "__validated") -}}
{{- $_ := set .Values "__validated" true -}}
{{- include "cap-operator.renamedValues" . -}}
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
{{- range $comp := list "controller" "subscriptionServer" "webhook" -}}
{{- $repo := (index $.Values $comp "image" | default dict).repository | default $.Values.image.repository -}}
{{- if hasPrefix "ghcr.io/sap/cap-operator" $repo -}}
{{- fail (printf "%s uses the image %q of the CAP Operator this chart replaces; this chart runs its own image (one image for all components): remove %s.image.repository and image.repository from your values, or set image.repository to this project's image" $comp $repo $comp) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Keys of earlier versions of this chart, refused with the name that replaces them. The
schema accepts them (with any value) so that this message, not a generic one, is shown. */}}
{{- define "cap-operator.renamedValues" -}}
{{- $renamed := list
    (list "subscriptionServer" "additionalCACertificate" "subscriptionServer.certificateConfig.additionalCACertificate")
    (list "webhook" "certManagerIssuer" "webhook.certificateConfig.certManager.issuerName, .issuerKind and .issuerGroup") -}}
{{- range $renamed -}}
{{- if hasKey (index $.Values (index . 0)) (index . 1) -}}
{{- fail (printf "%s.%s was renamed: use %s (the names of the CAP Operator's chart)" (index . 0) (index . 1) (index . 2)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The PEM bundle the subscription server trusts for forwarded client certificates:
subscriptionServer.certificateConfig.additionalCACertificate plus clientCACertificates; empty when
neither is set. */}}
{{- define "cap-operator.serverClientCA" -}}
{{- $s := .Values.subscriptionServer -}}
{{- $parts := list -}}
{{- range (list $s.certificateConfig.additionalCACertificate $s.clientCACertificates) -}}
{{- if . -}}{{- $parts = append $parts (trim .) -}}{{- end -}}
{{- end -}}
{{- if $parts -}}{{- printf "%s\n" (join "\n" $parts) -}}{{- end -}}
{{- end -}}

{{/* The Go runtime's soft memory limit of a container: GOMEMLIMIT from the container's memory
limit (downward API), so that the garbage collector works harder before the container would be
OOM-killed instead of letting the heap grow to twice the live data. Empty when the component has
no memory limit or sets GOMEMLIMIT in its extraEnv. Call with (dict "resources" ... "extraEnv"
...). */}}
{{- define "cap-operator.goMemLimit" -}}
{{- $limit := dig "limits" "memory" "" (.resources | default dict) -}}
{{- $own := false -}}
{{- range .extraEnv }}{{ if eq .name "GOMEMLIMIT" }}{{ $own = true }}{{ end }}{{ end -}}
{{- if and $limit (not $own) -}}
- name: GOMEMLIMIT
  valueFrom:
    resourceFieldRef:
      resource: limits.memory
{{- end -}}
{{- end -}}
