#!/usr/bin/env bash
# Runs every test tier of the project:
#   - unit tests (fake clientsets, table tests, golden files),
#   - integration tests against a real etcd + kube-apiserver started by each test package,
#   - end-to-end tests that add kube-controller-manager, kube-scheduler and kwok.
# The control-plane binaries are built once and cached under .cache/ (hack/install-tools.sh).
# Extra arguments are passed to `go test`, e.g. hack/test.sh -run TestPublishedExamples ./test/...
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"

"${ROOT}/hack/install-tools.sh"

if [[ $# -eq 0 ]]; then
    set -- ./...
fi
echo "[test] go test -count=1 -timeout 60m $*"
go test -count=1 -timeout 60m "$@"
