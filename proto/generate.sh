#!/usr/bin/env bash
# Regenerates the Go code for the KEDA External Scaler protocol (`make proto`) into
# proto/externalscaler/. The protoc plugins come from go.mod's tool block, so their
# versions are pinned with the module; protoc itself is the system one (.ci/deps installs it).
# The generated files record the protoc version in their header, so regenerating with another
# protoc changes that line and nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

want_protoc="libprotoc 3.21.12"
if ! command -v protoc >/dev/null; then
  echo "proto/generate.sh: protoc is missing: run .ci/deps" >&2
  exit 1
fi
if [ "$(protoc --version)" != "$want_protoc" ]; then
  echo "proto/generate.sh: warning: $(protoc --version) differs from $want_protoc; the generated headers will change" >&2
fi

# An optional argument names another output root, so `make proto-check` can compare a fresh
# generation with the committed files without touching them.
out="${1:-.}"
mkdir -p "$out"
protoc \
  --plugin=protoc-gen-go="$(go tool -n protoc-gen-go)" \
  --plugin=protoc-gen-go-grpc="$(go tool -n protoc-gen-go-grpc)" \
  --go_out="$out" --go_opt=paths=source_relative \
  --go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
  proto/externalscaler/externalscaler.proto
