#!/usr/bin/env bash
# Does dynamic batching pay off? Serves a model with `hone serve` and drives it with `hone loadtest`
# (64 closed-loop clients, binary tensors, loopback), first without batching, then with max_batch_size
# 64 at several max_queue_delay values, and prints one line per run: throughput, p50/p99, mean rows per
# batch (from the server's /stats). It also prints the runtime alone at batch 1 and batch 64 (`hone bench`),
# the per-item compute that bounds what batching can gain.
#
#   scripts/serve_bench.sh [MODEL.onnx] [DURATION] [DELAYS]
#   scripts/serve_bench.sh .cache/models/resnet18.onnx 20s "5ms 20ms 50ms"
#
# SERVE_FLAGS adds flags to every `hone serve` (e.g. "--threads 1"); CLIENTS, BATCH, PORT and RUNS
# override the defaults 64, 64, 18080 and 20; SKIP_RUNTIME=1 leaves out the `hone bench` part.
# Default: the embedded MNIST CNN, 5s per run, delays "0s 500us 1ms 2ms 5ms 10ms". Server and load
# generator share the machine's cores, as the issue's acceptance test asks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
model=${1:-internal/assets/mnist/mnist_cnn.onnx}
dur=${2:-5s}
delays=${3:-"0s 500us 1ms 2ms 5ms 10ms"}
clients=${CLIENTS:-64}
batch=${BATCH:-64}
port=${PORT:-18080}
bin=$(mktemp -d)/hone
go build -o "$bin" ./cmd/hone
name=$(basename "$model" .onnx)
url=http://127.0.0.1:$port

if [ -z "${SKIP_RUNTIME:-}" ]; then
	echo "== runtime alone ($name, threads = GOMAXPROCS)"
	"$bin" bench "$model" --batch "1,$batch" --threads "$(nproc)" --no-mem --runs "${RUNS:-20}" --warmup 2 |
		grep -E '^batch|throughput|p50'
fi

run() { # label, serve flags…
	local label=$1
	shift
	# shellcheck disable=SC2086 # SERVE_FLAGS is a list of extra flags, e.g. "--threads 1"
	"$bin" serve "$model" --http "127.0.0.1:$port" --grpc "" ${SERVE_FLAGS:-} "$@" 2>/dev/null &
	local pid=$!
	for _ in $(seq 100); do curl -sf "$url/v2/health/ready" >/dev/null && break || sleep 0.1; done
	# Warm up (first batches allocate the plan's buffers), then measure.
	"$bin" loadtest "$url" --model "$name" --concurrency "$clients" --duration 1s >/dev/null || true
	local before after out
	before=$(curl -sf "$url/v2/models/$name/stats")
	out=$("$bin" loadtest "$url" --model "$name" --concurrency "$clients" --duration "$dur")
	after=$(curl -sf "$url/v2/models/$name/stats")
	kill "$pid"
	wait "$pid" || true
	local rows
	rows=$(/usr/bin/env python3 - "$before" "$after" <<'PY'
import json, sys
b, a = (json.loads(x)["model_stats"][0] for x in sys.argv[1:3])
n = a["execution_count"] - b["execution_count"]
print("%.1f" % ((a["inference_count"] - b["inference_count"]) / n) if n else "-")
PY
)
	printf '%-16s %s  rows/batch %s\n' "$label" \
		"$(echo "$out" | awk '/^throughput/{t=$2} /^latency/{l=$2" "$3"  "$6" "$7} END{printf "%8.1f req/s  %s", t, l}')" "$rows"
}

echo "== $name, $clients closed-loop clients, $dur per run"
run "no batching"
for d in $delays; do
	run "delay $d" --max-batch-size "$batch" --max-queue-delay "$d"
done
