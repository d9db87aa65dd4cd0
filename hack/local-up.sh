#!/usr/bin/env bash
# Brings up a local Kubernetes environment on loopback: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok with one fake node, with the operator's CRDs
# and the third-party CRDs (Istio, cert-manager, Gardener, ServiceMonitor) installed.
# It prints the kubeconfig to use and runs until interrupted (Ctrl-C), then removes everything.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"

"${ROOT}/hack/install-tools.sh"
go build -o "${ROOT}/.cache/bin/localenv" ./hack/localenv
exec "${ROOT}/.cache/bin/localenv" "$@"
