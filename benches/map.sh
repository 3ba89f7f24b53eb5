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
"$verso" build "$col" --progress plain --summary-json "$work/cold.json" 2>&1 | grep "map laid out" > "$work/cold-layout.txt"
# The newest poem again, at the same time: within the newest month, as a
# poem a day mostly is.
python3 - "$col" <<'PY'
import json, sys
d = sys.argv[1]
p = json.load(open(f"{d}/poems.json"))
e = json.load(open(f"{d}/embeddings.json"))
newest = max(p["poems"], key=lambda x: x["creation_date"])
new = dict(newest); new["poem_index"] = max(x["poem_index"] for x in p["poems"]) + 1
new["content"] += " again"
p["poems"].append(new)
v = dict(e["embeddings"][10]); v["id"] = new["poem_index"]; e["embeddings"].append(v)
json.dump(p, open(f"{d}/poems.json", "w")); json.dump(e, open(f"{d}/embeddings.json", "w"))
PY
sync
/usr/bin/time -o "$work/time" -f "%e" "$verso" build "$col" --progress plain --summary-json "$work/append.json" > "$work/append.txt" 2>&1
append=$(tail -n 1 "$work/time")
append_layout=$(grep -c "map laid out" "$work/append.txt" || true)
map_7797=$(stat -c %s "$col/site/map.html")

echo "== trustworthiness at k = 10" >&2
quality=$("$venv/bin/python" benches/map_quality.py "$col")
echo "$quality" >&2
sonnets=../shared/corpora/sonnets
sonnets_quality="(no ../shared/corpora/sonnets beside the clone)"
if [ -d "$sonnets" ]; then
  rm -rf "$work/sonnets" && cp -r "$sonnets" "$work/sonnets" && chmod -R u+w "$work/sonnets"
  "$verso" build "$work/sonnets" --progress none --quiet >/dev/null
  sonnets_quality=$("$venv/bin/python" benches/map_quality.py "$work/sonnets")
  echo "$sonnets_quality" >&2
fi

echo "== map.html at 30,000 poems" >&2
big="$work/big"
"$verso" fixture --poems 30000 --dim 64 --seed 2 "$big" >/dev/null
printf 'poems = "poems.json"\nembeddings = "embeddings.json"\n[pages]\npoems_per_page = 20\n' > "$big/verso.toml"
"$verso" build "$big" --progress plain --summary-json "$work/big.json" 2>&1 | grep "map laid out" > "$work/big-layout.txt"
map_30000=$(stat -c %s "$big/site/map.html")

python3 benches/section.py "## The map ($(date -u +%Y-%m-%d), \`benches/map.sh\`)

The layout of 7,797 × 768 vectors (criterion, \`map layout\`, every poem
settled): $layout. In the cold build: $(sed 's/^ *//' "$work/cold-layout.txt").
At 30,000 poems (64 dimensions): $(sed 's/^ *//' "$work/big-layout.txt").

One poem appended within the newest month of the 7,797-poem site: the
whole build took $append s, and laid the map out $append_layout time(s) (the
new poem is placed among its nearest settled poems).

Trustworthiness at k = 10 (scikit-learn, cosine; verso's places read from
the dots of \`map.html\`, rounded to the drawing's 1,000 units), on the
7,797-poem fixture:

| layout | trustworthiness | time |
| --- | ---: | ---: |
$quality

On the sonnets (168 poems, real all-MiniLM-L6-v2 vectors):

| layout | trustworthiness | time |
| --- | ---: | ---: |
$sonnets_quality

| collection | \`map.html\` |
| --- | ---: |
| 7,797 poems | $((map_7797 / 1000)) kB |
| 30,000 poems | $((map_30000 / 1000)) kB |
"
rm -rf "$big"
