#!/usr/bin/env bash
# Fails when the generated reference pages under docs/reference differ from what
# hack/update-docs.sh produces, or when docs/troubleshooting.md misses a condition or event
# reason the operator can set, or a relative link in the docs is broken. The working tree is left untouched.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "${SCRATCH}"' EXIT
cd "${ROOT}"

go run ./hack/gen-docs -root "${ROOT}" -out "${SCRATCH}"
status=0
for page in "${SCRATCH}"/*.md; do
    name="$(basename "${page}")"
    if ! diff -u "${ROOT}/docs/reference/${name}" "${page}"; then
        echo "verify-docs: docs/reference/${name} is out of date; run hack/update-docs.sh" >&2
        status=1
    fi
done
if ! go test -count=1 ./hack/gen-docs/; then
    echo "verify-docs: docs/troubleshooting.md misses a reason or a docs link is broken (see above)" >&2
    status=1
fi
[[ ${status} -eq 0 ]] && echo "verify-docs: the generated docs are up to date"
exit ${status}
