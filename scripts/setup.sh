#!/usr/bin/env bash
# Installs what hone's tests need on a fresh Debian machine (Go is assumed), then fetches the real assets and
# generates the test models. Safe to run again: every step skips what is already there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

pkgs=(python3-torch python3-torchvision python3-onnx python3-numpy libonnx-testdata libopenblas-dev protobuf-compiler chromium
	fonts-dejavu-core fonts-liberation fonts-droid-fallback) # fonts: the OCR fidelity tests render text
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
command -v npm >/dev/null 2>&1 || missing+=(npm) # the machine's Node.js may bring its own npm
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

./scripts/fetch-assets.sh >/dev/null
models=${HONE_MODELS:-$root/.cache/models}
if [ ! -f "$models/.done" ]; then
	mkdir -p "$models"
	/usr/bin/python3 scripts/fixtures/export_models.py "$models"
	touch "$models/.done"
fi
echo "setup: assets in .cache/assets, test models in $models"
