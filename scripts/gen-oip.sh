#!/usr/bin/env bash
# Regenerates api/oippb/*.pb.go from api/oippb/inference.proto (the Open Inference Protocol v2 gRPC service).
# Needs protoc, protoc-gen-go v1.36.12 and protoc-gen-go-grpc v1.5.1:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(go env GOPATH)/bin
gen=${PROTOC_GEN_GO:-$(command -v protoc-gen-go || echo "$bin/protoc-gen-go")}
gengrpc=${PROTOC_GEN_GO_GRPC:-$(command -v protoc-gen-go-grpc || echo "$bin/protoc-gen-go-grpc")}
cd "$root/api/oippb"
protoc --plugin=protoc-gen-go="$gen" --plugin=protoc-gen-go-grpc="$gengrpc" -I . \
	--go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative \
	inference.proto
