#!/usr/bin/env bash
# The whole test suite, setup included: README's test command and what CI runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
./scripts/setup.sh

export HONE_ORT_LIB=${HONE_ORT_LIB:-$root/.cache/assets/ort/libonnxruntime.so.1}
step() { printf '\n=== %s\n' "$*"; }

step "gofmt"
bad=$(gofmt -l $(git ls-files '*.go' | grep -v '\.pb\.go$') || true)
[ -z "$bad" ] || { echo "gofmt needed: $bad"; exit 1; }
step "pure-Go build (CGO_ENABLED=0)"
CGO_ENABLED=0 go build ./...
step "go vet"
go vet ./...
go vet -tags ort ./...
step "tests (asm kernels, ONNX Runtime oracle tests included)"
go test -tags ort -count=1 -timeout 40m ./...
step "tests with pure-Go kernels only (-tags purego)"
go test -tags purego -count=1 -timeout 20m ./kernels/... ./turboquant/... ./runtime/...
step "tests with the kernels capped at AVX2 (HONE_CPU=avx2), as on a machine without AVX-512"
# Each kernel's AVX2 variant is checked against its twin above; this runs the runtime's and the quantizer's own
# dispatch (which paths exist at AVX2) on whole models, against ONNX Runtime where the tests compare with it.
HONE_CPU=avx2 go test -tags ort -count=1 -timeout 30m ./kernels/... ./turboquant/... ./runtime/... ./quant/...
step "race detector on concurrent packages"
go test -race -count=1 -timeout 20m ./runtime/... ./serve/... ./api/... ./bench/... ./kernels/...
step "fuzz the model loader and tensor readers briefly"
# Execution counts, not durations: a duration races Go's fuzzing coordinator at its deadline and fails with a bare
# "context deadline exceeded" on a loaded machine (golang/go#51484), without any input to blame. About 20 s and
# 10 s here (measured 13 s and 8 s).
go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime 300000x ./onnx
go test -run '^$' -fuzz '^FuzzRead$' -fuzztime 300000x ./npy
echo
echo "all tests passed"
