#!/usr/bin/env bash
# Regenerates the reference pages under docs/reference from the code (hack/gen-docs): the API
# reference from pkg/apis and the configuration reference from the binaries' --help, the
# environment variables they read and the chart's values.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
go run ./hack/gen-docs -root "${ROOT}" -out "${ROOT}/docs/reference"
echo "update-docs: docs/reference regenerated"
