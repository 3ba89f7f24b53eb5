#!/usr/bin/env bash
# The map page: its layout's time at 7,797 × 768 (criterion, the `map
# layout` kernel), its quality against umap-learn and PCA on the same
# vectors (trustworthiness at k = 10, benches/map_quality.py in a venv with
# scikit-learn and umap-learn), and map.html's bytes at 7,797 poems and at
# 30,000 (a `verso fixture` collection, 64 dimensions and small pages, since
# the map's size depends on neither).
# Usage: benches/map.sh [WORKDIR] [VENV]   (writes benches/RESULTS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/verso-map}
venv=${2:-$work/venv}
. benches/collection.sh

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet umap-learn scikit-learn
fi

echo "== the layout's time (criterion)" >&2
cargo bench --quiet --bench kernels -- "map layout" 2>/dev/null | tee "$work/criterion.txt" >&2
layout=$(grep -A1 "map layout" "$work/criterion.txt" | grep -o 'time: *\[[^]]*\]' | head -n 1)

echo "== a cold build, then one appended poem" >&2
"$verso" build "$col" --progress none --summary-json "$work/cold.json" >/dev/null
python3 - "$col" <<'PY'
import json, sys
d = sys.argv[1]
p = json.load(open(f"{d}/poems.json"))
e = json.load(open(f"{d}/embeddings.json"))
new = dict(p["poems"][-1]); new["poem_index"] = max(x["poem_index"] for x in p["poems"]) + 1
new["content"] += " again"
p["poems"].append(new)
v = dict(e["embeddings"][10]); v["id"] = new["poem_index"]; e["embeddings"].append(v)
json.dump(p, open(f"{d}/poems.json", "w")); json.dump(e, open(f"{d}/embeddings.json", "w"))
PY
append=$( { /usr/bin/time -f "%e" "$verso" build "$col" --progress none --summary-json "$work/append.json" >/dev/null; } 2>&1 | tail -n 1)
map_7797=$(stat -c %s "$col/site/map.html")

echo "== trustworthiness at k = 10" >&2
quality=$("$venv/bin/python" benches/map_quality.py "$col")
echo "$quality" >&2

echo "== map.html at 30,000 poems" >&2
big="$work/big"
"$verso" fixture --poems 30000 --dim 64 --seed 2 "$big" >/dev/null
printf 'poems = "poems.json"\nembeddings = "embeddings.json"\n[pages]\npoems_per_page = 20\n' > "$big/verso.toml"
"$verso" build "$big" --progress none --summary-json "$work/big.json" >/dev/null
map_30000=$(stat -c %s "$big/site/map.html")
stage3=$(python3 -c "import json;d=json.load(open('$work/big.json'));print(round(sum(s['seconds'] for s in d['stages'] if s['stage']=='rankings and chains'),2))")

python3 benches/section.py "## The map ($(date -u +%Y-%m-%d), \`benches/map.sh\`)

Layout of 7,797 × 768 vectors (criterion, \`map layout\`): $layout.
One poem appended to the 7,797-poem site, the layout computed again with
the rest: $append s for the whole build.

| layout | trustworthiness at k = 10 | time |
| --- | ---: | ---: |
$quality

| collection | \`map.html\` |
| --- | ---: |
| 7,797 poems | $((map_7797 / 1000)) kB |
| 30,000 poems | $((map_30000 / 1000)) kB (stage 3, rankings, chains and the layout: $stage3 s) |
"
rm -rf "$big"
