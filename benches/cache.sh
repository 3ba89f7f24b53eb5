#!/usr/bin/env bash
# The cache folder's size across many edits: a 300-poem fixture with the
# local model ([model] path, so the cache of vectors is in play), one poem's
# text changed per build (one new vector, one earlier text's vector left
# behind), `verso cache` read every 100 builds. Prints a Markdown table for
# the "## The cache's size" section of benches/RESULTS.md.
# Usage: benches/cache.sh [WORKDIR] [EDITS]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/verso-cache-bench}
edits=${2:-1000}
cargo build --release --quiet
verso=$PWD/target/release/verso
model=$PWD/target/test-model/all-MiniLM-L6-v2
bash scripts/fetch-test-model.sh "$model"
rm -rf "$work" && mkdir -p "$work"
"$verso" fixture --poems 300 --dim 8 "$work/c" >/dev/null
printf '[model]\npath = "%s"\n' "$model" > "$work/c/verso.toml"
python3 - "$verso" "$work/c" "$edits" <<'PY'
import json, re, subprocess, sys, time
verso, c, edits = sys.argv[1], sys.argv[2], int(sys.argv[3])
def build():
    subprocess.run([verso, "build", c, "--progress", "none", "--quiet"], check=True, stdout=subprocess.DEVNULL)
def sizes():
    out = subprocess.run([verso, "cache", c], check=True, capture_output=True, text=True).stdout
    total = out.splitlines()[0].split(": ")[1]
    part = lambda name: next((l.split()[0] + " " + l.split()[1] for l in out.splitlines() if name in l), "0 B")
    earlier = re.search(r"vectors of earlier texts \((\d+)\)", out)
    return total, part("store:"), part("current texts"), part("earlier texts"), earlier.group(1) if earlier else "0"
start = time.time()
build()
print("| builds | cache | store | current texts' vectors | earlier texts' vectors (count) |")
print("| ---: | ---: | ---: | ---: | ---: |")
t, s, cur, ear, n = sizes()
print(f"| 1 (cold) | {t} | {s} | {cur} | {ear} ({n}) |")
for i in range(1, edits + 1):
    path = c + "/poems.json"
    poems = json.load(open(path))
    poem = poems["poems"][i % len(poems["poems"])]
    poem["content"] += f" edit{i}"
    json.dump(poems, open(path, "w"))
    build()
    if i % 100 == 0:
        t, s, cur, ear, n = sizes()
        print(f"| {i + 1} | {t} | {s} | {cur} | {ear} ({n}) |", flush=True)
print(f"\n{edits} edits in {time.time() - start:.0f} s")
PY
