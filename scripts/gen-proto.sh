#!/usr/bin/env bash
# Regenerates onnx/onnxpb/onnx.pb.go from onnx.proto (ONNX 1.12's, as installed by libonnx-dev).
# Needs protoc and protoc-gen-go v1.36.12 (go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12).
# The proto has no go_package option, so the import path is supplied with --go_opt=M.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
proto=${ONNX_PROTO:-/usr/include/onnx/onnx.proto}
gen=${PROTOC_GEN_GO:-$(command -v protoc-gen-go || echo "$HOME/go/bin/protoc-gen-go")}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# protoc names the output after the input path, so copy it to a bare onnx.proto first.
cp "$proto" "$work/onnx.proto"
protoc --plugin=protoc-gen-go="$gen" -I "$work" \
	--go_out="$work" --go_opt=paths=source_relative \
	--go_opt=Monnx.proto=github.com/hone-ml/hone/onnx/onnxpb \
	"$work/onnx.proto"
mkdir -p "$root/onnx/onnxpb"
cp "$work/onnx.pb.go" "$root/onnx/onnxpb/onnx.pb.go"
