#!/usr/bin/env bash
# The local model (all-MiniLM-L6-v2, [model] path) on this machine:
# - throughput of `verso embed` against sentence-transformers (PyTorch CPU,
#   in a venv of its own, never in CI) on the same texts: the sonnets, and
#   the first LIMIT texts of the 7,797-poem fixture;
# - the 7,797 texts embedded with Ctrl-C at about half, then resumed: the
#   texts embedded in all must be 7,797;
# - then a cold build, and a one-poem typo (one text re-embedded).
# Writes the "## Embeddings" section of benches/RESULTS.md.
# Usage: benches/embed.sh [WORKDIR]   (ST_PYTHON: a python with
# sentence-transformers; otherwise a venv is made in WORKDIR)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/verso-embed-bench}
limit=${VERSO_BENCH_LIMIT:-1000}
poems=${VERSO_BENCH_POEMS:-7797}
cargo build --release --quiet
verso=$PWD/target/release/verso
model=$PWD/target/test-model/all-MiniLM-L6-v2
bash scripts/fetch-test-model.sh "$model"
mkdir -p "$work"
python=${ST_PYTHON:-}
if [ -z "$python" ]; then
  [ -x "$work/venv/bin/python" ] || { python3 -m venv "$work/venv" && "$work/venv/bin/pip" install --quiet sentence-transformers; }
  python=$work/venv/bin/python
fi
threads=$(nproc)
config() { printf '[model]\npath = "%s"\n\n[pages]\npoems_per_page = 200\n' "$model" > "$1/verso.toml"; }
seconds() {
  /usr/bin/time -o "$work/time" -f "%e %M" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  tail -n 1 "$work/time"
}

# Throughput, the same texts both ways.
rm -rf "$work/s" && bash scripts/fetch-test-sonnets.sh "$work/s" && config "$work/s"
t=$(seconds "$verso" embed "$work/s" --progress none); sonnets_verso=${t% *}
sonnets_st=$("$python" benches/st_throughput.py "$model" "$work/s/poems.json" "$threads")
rm -rf "$work/c" && "$verso" fixture --poems "$poems" --dim 8 --seed 1 "$work/c" >/dev/null && config "$work/c"
rm -f "$work/c/embeddings.json"
python3 -c "import json,sys;d=json.load(open('$work/c/poems.json'));d['poems']=d['poems'][:$limit];json.dump(d,open('$work/f.json','w'))"
rm -rf "$work/f" && mkdir -p "$work/f" && cp "$work/f.json" "$work/f/poems.json" && cp -r "$work/c/media" "$work/f/" && config "$work/f"
t=$(seconds "$verso" embed "$work/f" --progress none); fixture_verso=${t% *}
fixture_st=$("$python" benches/st_throughput.py "$model" "$work/f/poems.json" "$threads")
ratio() { python3 -c "print(round(($1 / $2) / float('$3'.split(': ')[1].split()[0]), 2))"; }

# The whole fixture, interrupted at about half, then resumed.
"$verso" embed "$work/c" --progress plain 2>"$work/first.err" &
pid=$!
while ! python3 - "$work/first.err" "$poems" <<'PY'
import re, sys
done = [int(m.replace(",", "")) for m in re.findall(r"embeddings\s+([\d,]+)/", open(sys.argv[1]).read())]
sys.exit(0 if done and done[-1] >= int(sys.argv[2]) // 2 else 1)
PY
do sleep 1; done
kill -INT "$pid"; wait "$pid" || true
first=$(grep -o 'embedded [0-9]* texts before Ctrl-C' "$work/first.err" | grep -o '[0-9]*')
/usr/bin/time -o "$work/time" -f "%e %M" "$verso" embed "$work/c" --progress plain 2>"$work/second.err"
rest=$(grep -o 'embedded [0-9]* texts$' "$work/second.err" | grep -o '[0-9]*' || echo 0)
resume_secs=$(cut -d' ' -f1 "$work/time")

# A cold build (the poems' vectors cached, the cloud's words not), a no-op, a typo.
t=$(seconds "$verso" build "$work/c" --progress none); cold=$t
t=$(seconds "$verso" build "$work/c" --progress none); noop=$t
python3 - "$work/c/poems.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); p = d["poems"][len(d["poems"]) // 2]
p["content"] = p["content"].replace(" ", "  ", 1) if "  " not in p["content"] else p["content"] + " x"
json.dump(d, open(sys.argv[1], "w"))
PY
/usr/bin/time -o "$work/time" -f "%e %M" "$verso" build "$work/c" --progress none --summary-json "$work/typo.json" >/dev/null
typo=$(tail -n 1 "$work/time")
typo_embedded=$(python3 -c "import json;print(json.load(open('$work/typo.json'))['embedded'])")

section=$(cat <<MD
## Embeddings (local model)

$(date -u +%Y-%m-%d), \`benches/embed.sh\`, all-MiniLM-L6-v2 on the CPU, $threads threads, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs).

| texts | verso embed | sentence-transformers (PyTorch CPU) | verso / ST |
| --- | ---: | ---: | ---: |
| the 168 sonnets | $(python3 -c "print(round(168 / $sonnets_verso, 1))") poems/s ($sonnets_verso s, with loading) | ${sonnets_st#*: } | $(ratio 168 "$sonnets_verso" "$sonnets_st")× |
| the first $limit of the $poems-poem fixture | $(python3 -c "print(round($limit / $fixture_verso, 1))") poems/s ($fixture_verso s) | ${fixture_st#*: } | $(ratio "$limit" "$fixture_verso" "$fixture_st")× |

- The $poems fixture texts, Ctrl-C at about half: $first embedded before it, $rest after the resume ($resume_secs s); $((first + rest)) in all, for $poems texts.
- Then a build (the cloud's words and the colours embedded): ${cold% *} s, ${cold#* } KB peak; a no-op ${noop% *} s; a one-poem typo ${typo% *} s, ${typo#* } KB peak, $typo_embedded text embedded.
MD
)
echo "$section"
python3 benches/section.py "$section"
