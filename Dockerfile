# One image per binary, both from this file:
#
#	docker build --build-arg BINARY=agent   -t ghcr.io/kedastral/agent:dev .
#	docker build --build-arg BINARY=gateway -t ghcr.io/kedastral/gateway:dev .
#
# (`make images` runs both.) The binaries are static (no cgo), so the runtime image is
# distroless/static: no shell, no package manager, user 65532 — the runAsUser in manifests/.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG BINARY=agent
# What --version and kedastral_build_info report (.git is not copied in, so they are passed).
ARG VERSION=unknown
ARG REVISION=unknown
RUN CGO_ENABLED=0 go build -trimpath \
	-ldflags="-s -w -X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.Revision=${REVISION}" \
	-o /out/kedastral ./${BINARY}

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kedastral /kedastral
USER 65532:65532
ENTRYPOINT ["/kedastral"]
