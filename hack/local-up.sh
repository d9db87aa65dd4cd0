#!/usr/bin/env bash
# Brings up a local Kubernetes environment on loopback: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok with one fake node, with the operator's CRDs
# and the third-party CRDs (Istio, cert-manager, Gardener, ServiceMonitor) installed. Then it
# builds and runs the operator against it (controller, subscription server, admission webhooks;
# logs in .cache/local/logs) and applies the multi-tenant sample application
# (examples/multitenant), with local stand-ins for the Istio ingress gateway and cert-manager,
# until it is Ready and Consistent (skip the sample with --no-sample). With --demo it then
# subscribes consumer tenants (--tenants=N, default 3) through the subscription server, with
# tokens of a local XSUAA stand-in, waits until they are Ready, rolls the sample's second version
# (examples/multitenant/cav-v2-upgrade.yaml) out to them, printing one line per tenant state
# change, and summarises tenants, versions and times.
# It prints the kubeconfig to use and the metrics endpoints and runs until interrupted (Ctrl-C),
# then removes everything.
# Flags: --no-sample, --demo, --tenants=N, --kubeconfig-out=PATH (default .cache/local/kubeconfig).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"

"${ROOT}/hack/install-tools.sh"
go build -o "${ROOT}/.cache/bin/localenv" ./hack/localenv
exec "${ROOT}/.cache/bin/localenv" "$@"
