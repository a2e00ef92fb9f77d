# syntax=docker/dockerfile:1
#
# The bgp-connector image: one static binary (CGO_ENABLED=0, -trimpath) on
# distroless static (CA certificates for HTTPS archives and brokers, tzdata,
# no shell), running as the non-root UID 65532 that the Helm chart's
# securityContext uses. deploy/image_test.go builds the binary with the exact
# flags of the RUN line below and checks it.
#
#   docker build -t bgp-connector \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg COMMIT="$(git rev-parse HEAD)" \
#     --build-arg BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" .

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -buildvcs=false \
      -ldflags="-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.buildDate=${BUILD_DATE}" \
      -o /out/bgp-connector ./cmd/bgp-connector

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
LABEL org.opencontainers.image.title="bgp-connector" \
      org.opencontainers.image.description="Kafka-native BGP connector: raw OpenBMP (or BMP, MRT) topics in, Avro elems out on per-type topics; bgpreader-compatible MRT reader" \
      org.opencontainers.image.source="https://github.com/bgp-connector/bgp-connector" \
      org.opencontainers.image.url="https://github.com/bgp-connector/bgp-connector" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"
COPY --from=build /out/bgp-connector /bgp-connector
USER 65532:65532
# 9464: metrics.listen (/metrics, /healthz, /readyz, status); 5000: collect (BMP from routers).
EXPOSE 9464 5000
ENTRYPOINT ["/bgp-connector"]
CMD ["--help"]
