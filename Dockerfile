# syntax=docker/dockerfile:1
#
# One image with the three Capstan binaries:
#   /app/controller  (cmd/controller)
#   /app/server      (cmd/server, subscription server)
#   /app/webhook     (cmd/web-hooks, admission webhooks)
# The Helm chart (chart/) selects the binary with the container command.
#
# Releases do not use this file: hack/build-images.sh builds the same image without a container
# engine (see docs/images.md and .github/workflows/release.yaml). It is kept for those who
# build with Docker:
#
#   docker build --build-arg VERSION=v0.1.0 --build-arg REVISION=$(git rev-parse HEAD) -t ghcr.io/capstan-io/capstan:0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/capstan-io/capstan:0.1.0 --push .

FROM --platform=$BUILDPLATFORM golang:1.26 AS builder
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION=dev
ARG REVISION=unknown
WORKDIR /src

# Dependencies first, so that source changes do not invalidate the module cache layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY cmd/ cmd/
COPY internal/ internal/
COPY pkg/ pkg/

# Static binaries (no cgo) for the distroless static base image.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    set -eu; \
    export CGO_ENABLED=0 GOOS="${TARGETOS}" GOARCH="${TARGETARCH}"; \
    mkdir -p /out; \
    ldflags="-s -w -X github.com/capstan-io/capstan/internal/cli.version=${VERSION} -X github.com/capstan-io/capstan/internal/cli.revision=${REVISION}"; \
    go build -trimpath -ldflags="${ldflags}" -o /out/controller ./cmd/controller; \
    go build -trimpath -ldflags="${ldflags}" -o /out/server ./cmd/server; \
    go build -trimpath -ldflags="${ldflags}" -o /out/webhook ./cmd/web-hooks

FROM gcr.io/distroless/static:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="capstan" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.description="CAP Operator replacement: controller, subscription server and admission webhooks" \
      org.opencontainers.image.source="https://github.com/capstan-io/capstan"
WORKDIR /app
COPY --from=builder /out/controller /out/server /out/webhook /app/
# 65532 is the distroless "nonroot" user; the chart also sets runAsNonRoot.
USER 65532:65532
ENTRYPOINT ["/app/controller"]
