#!/usr/bin/env bash
# Benchmarks hone against ONNX Runtime (same process, interleaved) on the issue's reference models at 1 and 2
# threads. Needs ./scripts/setup.sh first. Usage: scripts/bench-vs-ort.sh [runs]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=${1:-20}
export HONE_ORT_LIB=${HONE_ORT_LIB:-$root/.cache/assets/ort/libonnxruntime.so.1}
go build -tags ort -o .cache/hone-ort ./cmd/hone
models=(
	".cache/assets/ocr/ch_PP-OCRv4_det_infer.onnx --shape x=1,3,640,640"
	".cache/assets/ocr/ch_PP-OCRv4_rec_infer.onnx --shape x=1,3,48,320"
	".cache/models/resnet18.onnx --batch 1"
	".cache/models/mobilenet_v2.onnx --batch 1"
)
for threads in 1 2; do
	for m in "${models[@]}"; do
		echo "## $m, $threads thread(s)"
		# shellcheck disable=SC2086
		.cache/hone-ort bench $m --backend hone,ort --threads "$threads" --runs "$runs" | grep -E "p50 latency|peak RSS|p50 vs ORT|max"
	done
done
