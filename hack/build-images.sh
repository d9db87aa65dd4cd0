#!/usr/bin/env bash
# Builds the operator's container image without a container engine: the three binaries
# (controller, server, web-hooks) cross-compiled as static binaries (CGO_ENABLED=0) with the
# version stamped in, on a distroless-style base, as one multi-platform OCI image index
# (linux/amd64 and linux/arm64), written as an OCI image layout to .cache/images/capstan.
# The builder is hack/images (go-containerregistry, pinned in go.mod); see docs/images.md.
#
# Environment:
#   VERSION            version stamped in (default: git describe, else "dev")
#   REVISION           source revision (default: git rev-parse HEAD)
#   PLATFORMS          comma-separated platforms (default linux/amd64,linux/arm64)
#   BASE_IMAGE         base image reference, e.g. gcr.io/distroless/static:nonroot (releases);
#                      empty (default) uses the built-in minimal base: no registry needed
#   IMAGE_LICENSES     SPDX expression of the licenses label (default Apache-2.0, see LICENSE)
#   SOURCE_DATE_EPOCH  creation time of the image (default: the commit time)
#   OUT                layout directory (default .cache/images/capstan)
#
# Push the result with crane (no engine needed either):
#   go run github.com/google/go-containerregistry/cmd/crane@v0.22.1 push .cache/images/capstan REGISTRY/capstan:TAG
set -euo pipefail
CAPSTAN_LOG_PREFIX=build-images
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="$(capstan::repo_root)"
cd "${ROOT}"

VERSION="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
REVISION="${REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
export SOURCE_DATE_EPOCH
OUT="${OUT:-${ROOT}/.cache/images/capstan}"
mkdir -p "$(dirname "${OUT}")"

capstan::log "version ${VERSION}, revision ${REVISION}, platforms ${PLATFORMS:-linux/amd64,linux/arm64}, base ${BASE_IMAGE:-built-in}"
go run ./hack/images \
	--out="${OUT}" \
	--platforms="${PLATFORMS:-linux/amd64,linux/arm64}" \
	--version="${VERSION}" \
	--revision="${REVISION}" \
	--base="${BASE_IMAGE:-}" \
	--licenses="${IMAGE_LICENSES:-Apache-2.0}"
