#!/usr/bin/env bash
# Fails when the generated code or CRDs differ from what hack/update-codegen.sh produces.
# It regenerates into a scratch copy of the tree, so the working tree is left untouched.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "${SCRATCH}"' EXIT

# Copy the tree without build caches, then regenerate there.
tar -C "${ROOT}" --exclude=./.cache --exclude=./.git -cf - . | tar -C "${SCRATCH}" -xf -
CAPSTAN_TOOLS="${CAPSTAN_TOOLS:-${ROOT}/.cache}" "${SCRATCH}/hack/update-codegen.sh"

status=0
for dir in pkg/apis pkg/client crds chart/crds; do
    [[ -e "${ROOT}/${dir}" || -e "${SCRATCH}/${dir}" ]] || continue
    if ! diff -Nru "${ROOT}/${dir}" "${SCRATCH}/${dir}"; then
        echo "verify-codegen: ${dir} is out of date; run hack/update-codegen.sh" >&2
        status=1
    fi
done
[[ ${status} -eq 0 ]] && echo "verify-codegen: generated code and CRDs are up to date"
exit ${status}
