#!/usr/bin/env bash
# Regenerates everything derived from the API types in pkg/apis:
#   - deepcopy functions (zz_generated.deepcopy.go)
#   - clientset (with fake), listers, informers and apply configurations in pkg/client
#   - CustomResourceDefinitions in crds/ (controller-gen, trimmed by hack/crdtrim), copied into
#     chart/crds/
# The generator versions are pinned by hack/tools/codegen/go.mod.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
MODULE="$(go list -m)"
TOOLS_MOD="${ROOT}/hack/tools/codegen"
export GOBIN="${CAPSTAN_TOOLS:-${ROOT}/.cache}/codegen-bin"
mkdir -p "${GOBIN}"

# `go list -m -f {{.Dir}}` prints nothing for a module that is not in the module cache yet, so
# download the generator modules first (a no-op when they are cached).
(cd "${TOOLS_MOD}" && go mod download k8s.io/code-generator sigs.k8s.io/controller-tools)
CODEGEN_PKG="$(cd "${TOOLS_MOD}" && go list -m -f '{{.Dir}}' k8s.io/code-generator)"
[[ -n "${CODEGEN_PKG}" && -f "${CODEGEN_PKG}/kube_codegen.sh" ]] ||
    { echo "update-codegen: k8s.io/code-generator not found in the module cache" >&2; exit 1; }
# shellcheck source=/dev/null
source "${CODEGEN_PKG}/kube_codegen.sh"

kube::codegen::gen_helpers \
    --boilerplate "${ROOT}/hack/boilerplate.go.txt" \
    "${ROOT}/pkg/apis"

kube::codegen::gen_client \
    --with-watch \
    --with-applyconfig \
    --output-dir "${ROOT}/pkg/client" \
    --output-pkg "${MODULE}/pkg/client" \
    --boilerplate "${ROOT}/hack/boilerplate.go.txt" \
    "${ROOT}/pkg/apis"

(cd "${TOOLS_MOD}" && go build -o "${GOBIN}/controller-gen" sigs.k8s.io/controller-tools/cmd/controller-gen)
rm -rf "${ROOT}/crds"
"${GOBIN}/controller-gen" crd:crdVersions=v1 \
    paths="./pkg/apis/..." \
    output:crd:artifacts:config="${ROOT}/crds"
# Drop the nested documentation of the Kubernetes types a CAPApplicationVersion workload embeds,
# so that every CRD fits into client-side apply's last-applied annotation (hack/crdtrim).
go run ./hack/crdtrim "${ROOT}"/crds/*.yaml

# The Helm chart ships the same CRDs.
if [[ -d "${ROOT}/chart" ]]; then
    rm -rf "${ROOT}/chart/crds"
    mkdir -p "${ROOT}/chart/crds"
    cp "${ROOT}"/crds/*.yaml "${ROOT}/chart/crds/"
fi
